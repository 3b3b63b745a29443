#include "nodes/measure/summary.hpp"

#include <iomanip>
#include <sstream>

namespace lumaflow {

using Json = nlohmann::ordered_json;

std::string fixed_digits(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

std::string analysis_summary(const Json& report, const AnalysisOptions& opt) {
  std::ostringstream s;
  if (report.contains("dbscan") && report["dbscan"].contains("prototype")) {
    const Json& p = report["dbscan"]["prototype"];
    s << "DBSCAN clusters: " << p["clusters"].get<int>() << " (eps " << fixed_digits(opt.dbscan.eps, 2) << ", minPts "
      << opt.dbscan.min_pts << (opt.dbscan.normalize ? ", L2-normalised" : "") << "; ARI "
      << fixed_digits(p["ari"].get<double>()) << ", noise " << fixed_digits(100 * p["noise_fraction"].get<double>(), 1)
      << "%)\n";
    if (report["dbscan"].contains("suggested") && report["dbscan"].contains("best")) {
      const Json& q = report["dbscan"]["suggested"];
      const Json& b = report["dbscan"]["best"];
      s << "  at the suggested eps " << fixed_digits(q["eps"].get<double>()) << ": " << q["clusters"].get<int>()
        << " clusters, ARI " << fixed_digits(q["ari"].get<double>()) << "; best of the sweep: ARI "
        << fixed_digits(b["ari"].get<double>()) << " at eps " << fixed_digits(b["eps"].get<double>()) << ", minPts "
        << b["min_pts"].get<int>() << "\n";
    }
  } else {
    s << "DBSCAN clusters: (skipped)\n";
  }
  if (report.contains("umap") || report.contains("tsne")) {
    s << "trustworthiness(" << opt.trust_k << "):";
    if (report.contains("umap")) s << " UMAP " << fixed_digits(report["umap"]["trustworthiness"].get<double>());
    if (report.contains("tsne")) s << " t-SNE " << fixed_digits(report["tsne"]["trustworthiness"].get<double>());
    s << "\n";
  }
  if (report.contains("classification")) {
    s << "classification:";
    for (const auto& [k, v] : report["classification"].items())
      if (k == "svm_kfold_support_vectors")
        s << " (" << fixed_digits(v.get<double>(), 0) << " support vectors)";
      else if (k != "folds")
        s << " " << k << " " << fixed_digits(v.get<double>());
    s << "\n";
  }
  if (report.contains("heldout")) {
    const Json& h = report["heldout"];
    s << "held-out (" << h["test_per_person"].get<int>() << " per person): pca+SVM "
      << fixed_digits(h["pca_svm"]["accuracy"].get<double>()) << ", umap2+SVM "
      << fixed_digits(h["umap2_svm"]["accuracy"].get<double>()) << ", umapN+SVM "
      << fixed_digits(h["umapN_svm"]["accuracy"].get<double>());
    if (h.contains("raw_1nn")) s << ", 1-NN raw " << fixed_digits(h["raw_1nn"].get<double>());
    s << ", 1-NN pca " << fixed_digits(h["pca_1nn"].get<double>()) << "\n";
  }
  return s.str();
}

}  // namespace lumaflow
