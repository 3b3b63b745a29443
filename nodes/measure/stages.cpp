#include "nodes/measure/stages.hpp"

#include <sys/resource.h>

#include <chrono>
#include <climits>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <map>
#include <mutex>
#include <opencv2/core.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "nodes/analysis/knn.hpp"
#include "nodes/analysis/metrics.hpp"
#include "nodes/analysis/pca.hpp"
#include "nodes/analysis/svm_precomputed.hpp"
#include "nodes/chart/chart.hpp"
#include "nodes/core/parallel.hpp"
#include "nodes/measure/heldout.hpp"
#include "nodes/measure/summary.hpp"
#include "nodes/model/answer.hpp"
namespace lumaflow {
namespace {

using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

double round4(double v) { return std::round(v * 1e4) / 1e4; }  // exact power-of-ten divisor: short decimals in JSON

Json partition_scores(const Labels& truth, const Labels& clusters) {
  Json j;
  j["clusters"] = cluster_count(clusters);
  j["noise_fraction"] = round4(noise_fraction(clusters));
  j["ari"] = round4(adjusted_rand_index(truth, clusters));
  j["nmi"] = round4(normalized_mutual_info(truth, clusters));
  j["purity"] = round4(purity(truth, clusters));
  return j;
}

// Everything the stages produce; each stage writes only its own members.
struct State {
  const EmbeddingStore* store = nullptr;
  Labels labels;                  // folder labels (-1 = unlabelled)
  std::vector<int> labelled_idx;  // indices of the labelled faces
  std::vector<std::string> names;
  bool labelled = false;        // at least 2 people with faces
  RowMatrixF raw;               // n × d, pixel/255; up to raw_max faces only (empty past it)
  RowMatrixF space;             // raw or PCA-reduced
  std::optional<PcaModel> pca;  // the reduction, past raw_max
  Eigen::MatrixXd gram;         // raw·rawᵀ (exact) when space holds span coordinates
  std::string space_name;
  RowMatrixF umap, tsne;
  IndexMatrix neighbors;
  std::vector<FaceMap::Mistake> mistakes;
  Json dbscan, sweep, umap_j, tsne_j, classify_j, heldout_j, charts = Json::array();
  std::mutex charts_mutex;
};
class Stages {
 public:
  Stages(const AnalysisOptions& opt, const std::filesystem::path& out, State& st) : opt_(opt), out_(out), st_(st) {
    // trustworthiness needs k < n/2: small sets get the largest k that is defined.
    const int n = static_cast<int>(st.store->size());
    trust_k_ = std::max(1, std::min(opt.trust_k, (n - 1) / 2 - 1));
  }

  // Times a stage and records it under `name`. A stage that throws is recorded as failed
  // (report.json "stages") and the others go on; false then.
  template <class Fn>
  bool timed(const std::string& name, Fn&& fn) {
    const auto t0 = Clock::now();
    bool ok = true;
    try {
      if (name == opt_.fail_stage) throw std::runtime_error("injected failure (--fail-stage " + name + ")");
      fn();
    } catch (const std::exception& e) {
      fail(name, e.what());
      ok = false;
    }
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::lock_guard lock(mutex_);
    seconds_[name] = round4(s);
    return ok;
  }

  void fail(const std::string& name, const std::string& what) {
    std::lock_guard lock(mutex_);
    stages_[name] = Json{{"error", what}};
  }
  void skip(const std::string& name, const std::string& reason) {
    std::lock_guard lock(mutex_);
    stages_[name] = Json{{"skipped", reason}};
  }
  // name -> {"error": ...} | {"skipped": ...}, for the stages that did not run to the end.
  Json stages() const {
    Json j = Json::object();
    for (const auto& [k, v] : stages_) j[k] = v;
    return j;
  }
  bool failed() const {
    for (const auto& [k, v] : stages_)
      if (v.contains("error")) return true;
    return false;
  }
  bool prepared() const { return st_.space.rows() > 0; }

  // Folds for a stratified k-fold over labels y: at most the smallest person's face count, so
  // every training fold holds every person; 0 (with `why`) when that is below 2.
  int usable_folds(const Labels& y, std::string& why) const {
    std::map<int, int> per;
    for (int l : y) ++per[l];
    int smallest = INT32_MAX, who = -1;
    for (const auto& [l, c] : per)
      if (c < smallest) smallest = c, who = l;
    if (smallest >= 2) return std::min(opt_.folds, smallest);
    why = "k-fold SVM needs at least 2 faces of every person; '" + st_.names[static_cast<size_t>(who)] + "' has 1";
    return 0;
  }
  std::string unlabelled_reason() const {
    std::set<int> people(st_.labels.begin(), st_.labels.end());
    people.erase(-1);
    return "needs faces of at least 2 people (folders); the set has " + std::to_string(people.size());
  }

  void chart(const std::string& file, const cv::Mat& img) {
    write_png(out_ / file, img);
    std::lock_guard lock(st_.charts_mutex);
    st_.charts.push_back(file);
  }

  Json seconds() const {
    Json j;
    for (const auto& [k, v] : seconds_) j[k] = v;
    return j;
  }

  std::string dims_tag() const { return std::to_string(st_.store->dims()); }
  // Past raw_max faces the analysis works in a PCA space streamed from the store's rows.
  bool large() const { return st_.store->size() > static_cast<size_t>(opt_.raw_max); }

  ChartOptions chart_options(const std::string& title, const std::string& x, const std::string& y) const {
    ChartOptions c;
    c.title = title;
    c.x_label = x;
    c.y_label = y;
    return c;
  }

  void prepare() {
    // Past raw_max no n × d float matrix is made: the PCA streams the store's (mapped) rows.
    if (!large()) timed("matrix", [&] { st_.raw = st_.store->matrix(); });
    timed("space", [&] {
      if (large()) {
        const RowSource rows = st_.store->rows();
        PcaOptions po;
        po.components = static_cast<int>(std::min<Eigen::Index>({opt_.pca_components, rows.rows() - 1, rows.cols()}));
        po.seed = opt_.seed;
        po.threads = opt_.threads;
        st_.pca = fit_pca(rows, po);
        st_.space = st_.pca->transform(rows);
        st_.space_name = "pca" + std::to_string(st_.space.cols());
      } else if (st_.raw.cols() > st_.raw.rows()) {
        // n points span at most n − 1 dimensions: an exact PCA keeping them all is a rotation,
        // so every distance (kNN, t-SNE, UMAP, trustworthiness, 1-NN, SVM kernels) is unchanged
        // while each distance pass costs n − 1 instead of d multiply-adds per pair.
        st_.space = span_coordinates(st_.raw, &st_.gram);
        st_.space_name = "raw";
      } else {
        st_.space = st_.raw;
        st_.space_name = "raw";
      }
    });
  }

  // DBSCAN L2-normalises rows, which neither a rotation nor a centred PCA commutes with. Up to
  // raw_max faces it sees the raw rows. Past that it sees the PCA reconstructions of the faces
  // (mean included: reconstruction_coordinates, k+1 values a row) and normalises those, so eps
  // keeps the prototype's meaning at O(n·k) per distance pass and without another n×d copy.
  void dbscan_input() {
    if (!large()) {
      dbscan_space_ = "raw";
      return;
    }
    if (!st_.pca) throw std::logic_error("analyze: no PCA for the DBSCAN space");
    dbscan_x_ = reconstruction_coordinates(*st_.pca, st_.space);
    dbscan_space_ = "reconstructions from " + st_.space_name;
  }
  // space's exact Gram matrix of the raw rows (below raw_max): neighbours, ranks and 1-NN read
  // their distances from it, O(n²), instead of from n-dimensional span coordinates, O(n³).
  bool has_gram() const { return !large() && st_.gram.rows() == st_.space.rows(); }
  double high_trustworthiness(const RowMatrixF& low) const {
    return has_gram() ? trustworthiness_gram(st_.gram, low, trust_k_, opt_.threads)
                      : trustworthiness(st_.space, low, trust_k_, opt_.threads);
  }

  const RowMatrixF& dbscan_x() const { return large() ? dbscan_x_ : st_.raw; }
  // Up to raw_max with d > n the space stage kept the exact Gram matrix of the raw rows: DBSCAN
  // reads its distances from it, O(n²) a pass instead of O(n²·d), and re-decides the few pairs
  // at eps from the raw rows, so its labels are those of dbscan_x().
  std::optional<GramInput> dbscan_gram() const {
    if (large() || st_.gram.size() == 0) return std::nullopt;
    return GramInput{st_.gram, &st_.raw};
  }
  Labels run_dbscan(const DbscanOptions& d) const {
    const std::optional<GramInput> g = dbscan_gram();
    return g ? dbscan(*g, d) : dbscan(dbscan_x(), d);
  }

  void dbscan_stage() {
    if (!timed("dbscan_space", [&] { dbscan_input(); })) return;
    timed("dbscan", [&] {
      DbscanOptions d = opt_.dbscan;
      d.threads = opt_.threads;
      const Labels c = run_dbscan(d);
      dbscan_labels_.emplace_back("prototype", c);
      Json j = partition_scores(st_.labels, c);
      j["eps"] = d.eps;
      j["min_pts"] = d.min_pts;
      j["normalize"] = opt_.dbscan.normalize;
      j["space"] = dbscan_space_;
      st_.dbscan["prototype"] = j;
    });
    if (!opt_.run_sweep) return;
    if (dbscan_x().rows() < opt_.dbscan.min_pts) {
      skip("dbscan_sweep", "the eps sweep needs at least minPts (" + std::to_string(opt_.dbscan.min_pts) +
                               ") faces; the set has " + std::to_string(dbscan_x().rows()));
      return;
    }
    timed("dbscan_sweep", [&] {
      const int k = opt_.dbscan.min_pts;
      const RowMatrixF& x = dbscan_x();
      const bool normalize = opt_.dbscan.normalize;
      const std::optional<GramInput> gram = dbscan_gram();
      const float suggested =
          gram ? suggest_eps(*gram, k, normalize, opt_.threads) : suggest_eps(x, k, normalize, opt_.threads);
      const float wanted = std::max({opt_.dbscan.eps * 1.2f, suggested * 2.0f, 0.05f});
      // The pairs within the sweep's top eps are kept: a budget bounds them (and so memory).
      const RadiusNeighborhoods rn =
          gram ? RadiusNeighborhoods(*gram, wanted, normalize, opt_.threads, opt_.sweep_max_pairs)
               : RadiusNeighborhoods(x, wanted, normalize, opt_.threads, opt_.sweep_max_pairs);
      const float top = rn.max_eps();
      Labels at_suggested;
      if (suggested <= top) {
        at_suggested = rn.dbscan(suggested, k);
      } else {  // beyond the kept pairs: one more exact pass
        DbscanOptions d = opt_.dbscan;
        d.eps = suggested;
        d.threads = opt_.threads;
        at_suggested = run_dbscan(d);
      }
      Json sj = partition_scores(st_.labels, at_suggested);
      sj["eps"] = suggested;  // full precision: the value that reproduces these labels
      sj["min_pts"] = k;
      sj["method"] = "knee of the sorted " + std::to_string(k) + "-distance curve, + 1e-4 of itself";
      dbscan_labels_.emplace_back("suggested", std::move(at_suggested));
      st_.dbscan["suggested"] = sj;
      st_.dbscan["sweep_max_eps"] = top;
      st_.dbscan["sweep_capped_by_pair_budget"] = rn.capped();
      st_.dbscan["sweep_pairs_kept"] = rn.stored_pairs();
      std::vector<int> mins{k};
      if (k != 3) mins.push_back(3);
      Json rows = Json::array(), best;
      Labels best_labels;
      double best_ari = -2;
      std::vector<double> xs;
      std::vector<Series> left, right;
      for (int mp : mins) {
        Series ari{"ARI (minPts " + std::to_string(mp) + ")", {}},
            cnt{"clusters (minPts " + std::to_string(mp) + ")", {}};
        for (const float eps : eps_sweep(top, opt_.sweep_steps)) {
          const Labels c = rn.dbscan(eps, mp);
          Json r = partition_scores(st_.labels, c);
          r["eps"] = eps;
          r["min_pts"] = mp;
          if (r["ari"].get<double>() > best_ari) best_ari = r["ari"].get<double>(), best = r, best_labels = c;
          if (mp == mins.front()) xs.push_back(eps);
          ari.y.push_back(r["ari"].get<double>());
          cnt.y.push_back(r["clusters"].get<double>());
          rows.push_back(r);
        }
        left.push_back(ari);
        right.push_back(cnt);
      }
      st_.dbscan["sweep"] = rows;
      st_.dbscan["best"] = best;
      dbscan_labels_.emplace_back("best", std::move(best_labels));
      if (opt_.run_charts) {
        ChartOptions c =
            chart_options("DBSCAN: agreement with the folders (ARI) and cluster count vs eps", "eps", "ARI");
        c.vlines = {{suggested, "suggested " + fixed_digits(suggested, 3)}};
        if (opt_.dbscan.eps <= top)
          c.vlines.insert(c.vlines.begin(), {opt_.dbscan.eps, "prototype eps " + fixed_digits(opt_.dbscan.eps, 2)});
        chart("dbscan_eps_sweep.png", line_chart(xs, left, right, c, "clusters"));
      }
    });
  }

  // dbscan_labels.csv: each face's cluster (−1 noise) at the prototype's eps, the suggested eps
  // and the sweep's best, in store order — which faces DBSCAN grouped, not only how many.
  const std::vector<std::pair<std::string, Labels>>& dbscan_labels() const { return dbscan_labels_; }

  std::string dbscan_labels_csv() const {
    if (dbscan_labels_.empty()) return {};
    std::ostringstream f;
    f << "index,path,folder";
    for (const auto& [name, l] : dbscan_labels_) f << "," << name;
    f << "\n";
    for (size_t i = 0; i < st_.store->size(); ++i) {
      const int label = st_.labels[i];
      f << i << "," << csv_field(st_.store->record(i).path) << ","
        << csv_field(label >= 0 ? st_.names[static_cast<size_t>(label)] : std::string());
      for (const auto& [name, l] : dbscan_labels_) f << "," << l[i];
      f << "\n";
    }
    return f.str();
  }

  void umap_stage() {
    const bool ok = timed("umap", [&] {
      UmapOptions u = opt_.umap;
      u.seed = opt_.seed;
      u.threads = opt_.threads;
      u.n_components = 2;
      u.n_neighbors = static_cast<int>(std::min<Eigen::Index>(u.n_neighbors, st_.space.rows() - 1));
      // The exact Gram matrix gives the kNN in O(n²) instead of O(n²·d) on the span coordinates.
      st_.umap = (has_gram() ? umap_fit(st_.space, u, exact_knn_gram(st_.gram, u.n_neighbors - 1, true, opt_.threads))
                             : umap_fit(st_.space, u))
                     .embedding;
    });
    if (!ok) return;
    const int k = std::min<int>(opt_.report_neighbors, static_cast<int>(st_.space.rows()) - 1);
    if (k > 0)
      timed("report_neighbors", [&] {
        st_.neighbors =
            (has_gram() ? exact_knn_gram(st_.gram, k, true, opt_.threads) : exact_knn(st_.space, k, true, opt_.threads))
                .indices;
      });
    timed("umap_trustworthiness", [&] {
      st_.umap_j["trustworthiness"] = round4(high_trustworthiness(st_.umap));
      st_.umap_j["trust_k"] = trust_k_;
      st_.umap_j["n_neighbors"] = opt_.umap.n_neighbors;
      st_.umap_j["min_dist"] = opt_.umap.min_dist;
    });
  }

  void umap_charts() {
    if (!opt_.run_charts) return;
    const std::string tag = dims_tag();
    timed("chart_umap", [&] {
      chart("umap_" + tag + ".png",
            scatter_chart(st_.umap, st_.labels, st_.names,
                          chart_options("UMAP of " + tag + "-d luminance vectors", "UMAP 1", "UMAP 2")));
    });
    timed("chart_umap_kde", [&] {
      chart("umap_" + tag + "_kde.png",
            kde_chart(st_.umap, st_.labels, st_.names,
                      chart_options("UMAP with per-person KDE contours", "UMAP 1", "UMAP 2")));
    });
  }

  void umap_svm() {
    if (!opt_.run_svm) return;
    if (!st_.labelled) return skip("svm_kfold_umap", unlabelled_reason());
    const std::vector<int>& idx = st_.labelled_idx;
    const RowMatrixF xy = take_rows(st_.umap, idx);
    const Labels y = take(st_.labels, idx);
    std::string why;
    if (const int folds = usable_folds(y, why); folds == 0)
      skip("svm_kfold_umap", why);
    else
      timed("svm_kfold_umap", [&] {
        st_.classify_j["svm_kfold_umap2"] = round4(kfold_svm_accuracy(xy, y, folds, opt_.seed, opt_.svm, opt_.threads));
      });
    if (!opt_.run_charts) return;
    timed("chart_svm_regions", [&] {
      SvmClassifier svm;
      svm.fit(xy, y, opt_.svm);
      const int shortlist = default_shortlist(static_cast<int>(svm.classes().size()));
      const MeshPredictor predict = [&](const RowMatrixF& mesh) {
        std::vector<int> out;
        for (const auto& p : predict_nearest(svm, xy, y, mesh, shortlist, opt_.threads)) out.push_back(p.label);
        return out;
      };
      chart("umap_svm_boundaries.png",
            decision_chart(st_.umap, st_.labels, st_.names, predict,
                           chart_options("RBF SVM decision regions on the 2-D UMAP points", "UMAP 1", "UMAP 2"), 200));
    });
  }

  void atlas() {
    if (!opt_.run_charts || !opt_.run_atlas) return;
    timed("chart_atlas", [&] {
      const size_t n = st_.store->size();
      const size_t step =
          std::max<size_t>(1, (n + static_cast<size_t>(opt_.atlas_max) - 1) / static_cast<size_t>(opt_.atlas_max));
      std::vector<int> idx;
      std::vector<cv::Mat> thumbs;
      for (size_t i = 0; i < n; i += step) {
        const Thumbnail t = st_.store->thumbnail(i);
        if (!t.data) continue;
        idx.push_back(static_cast<int>(i));
        thumbs.push_back(cv::Mat(t.side, t.side, t.channels == 3 ? CV_8UC3 : CV_8UC1, const_cast<uint8_t*>(t.data)));
      }
      chart("atlas.png", atlas_chart(take_rows(st_.umap, idx), thumbs, take(st_.labels, idx), st_.names,
                                     chart_options("Face atlas: each face at its UMAP position", "UMAP 1", "UMAP 2")));
    });
  }

  void tsne_stage() {
    const bool ok = timed("tsne", [&] {
      TsneOptions t = opt_.tsne;
      t.seed = opt_.seed;
      t.threads = opt_.threads;
      t.perplexity = std::min<float>(t.perplexity, static_cast<float>(st_.space.rows() - 1) / 3.0f);
      st_.tsne = tsne(st_.space, t);
      st_.tsne_j["perplexity"] = t.perplexity;
    });
    if (!ok) return;
    timed("tsne_trustworthiness", [&] {
      st_.tsne_j["trustworthiness"] = round4(high_trustworthiness(st_.tsne));
      st_.tsne_j["trust_k"] = trust_k_;
    });
    if (opt_.run_charts)
      timed("chart_tsne", [&] {
        chart("tsne_" + dims_tag() + ".png",
              scatter_chart(st_.tsne, st_.labels, st_.names,
                            chart_options("t-SNE of " + dims_tag() + "-d luminance vectors", "t-SNE 1", "t-SNE 2")));
      });
  }

  void raw_classify() {
    if (!st_.labelled) return skip("classification", unlabelled_reason());
    const std::vector<int>& idx = st_.labelled_idx;
    const RowMatrixF x = take_rows(st_.space, idx);
    const Labels y = take(st_.labels, idx);
    // gamma "scale" depends on the coordinates, not only on distances: SVM sees the raw rows
    // (kfold_svm_accuracy rotates them itself, computing gamma from the raw training fold).
    const bool all = idx.size() == st_.labels.size();
    const RowMatrixF raw_subset = large() || all ? RowMatrixF() : take_rows(st_.raw, idx);
    const MatrixRefF svm_raw = large() ? MatrixRefF(x) : all ? MatrixRefF(st_.raw) : MatrixRefF(raw_subset);
    timed("loo_1nn", [&] {
      st_.classify_j["loo_1nn_" + st_.space_name] =
          round4(has_gram() ? loo_1nn_accuracy_gram(st_.gram, st_.labels, opt_.threads)
                            : loo_1nn_accuracy(x, y, opt_.threads));
    });
    std::string why;
    const int folds = usable_folds(y, why);
    if (opt_.run_svm && folds == 0) skip("svm_kfold_raw", why);
    if (opt_.run_svm && folds > 0)
      timed("svm_kfold_raw", [&] {
        if (large()) {  // 50-d PCA coordinates: kernels are cheap, n × n distances are not
          st_.classify_j["svm_kfold_" + st_.space_name] =
              round4(kfold_svm_accuracy(x, svm_raw, y, folds, opt_.seed, opt_.svm, opt_.threads));
          return;
        }
        // Distances once (from the exact Gram matrix when space holds span coordinates), read by
        // every fold and class pair through a precomputed kernel.
        const Eigen::MatrixXd d = has_gram() ? squared_distances_from_gram(st_.gram, idx) : squared_distances(x);
        const KfoldSvm k = kfold_svm_precomputed(d, svm_raw, y, folds, opt_.seed, opt_.svm, opt_.threads);
        st_.classify_j["svm_kfold_" + st_.space_name] = round4(k.accuracy);
        st_.classify_j["svm_kfold_support_vectors"] = round4(k.support_vectors);
      });
    if (folds > 0) st_.classify_j["folds"] = folds;
  }

  void heldout() {
    if (!opt_.run_heldout) return;
    if (!st_.labelled) return skip("heldout", unlabelled_reason());
    timed("heldout", [&] {
      const std::vector<int>& idx = st_.labelled_idx;
      const Labels y = take(st_.labels, idx);
      std::map<int, int> per;
      for (int l : y) ++per[l];
      int smallest = INT32_MAX;
      for (const auto& [l, c] : per) smallest = std::min(smallest, c);
      const int test_per = opt_.holdout_per_class > 0 ? opt_.holdout_per_class : std::max(1, smallest / 5);
      if (smallest - test_per < 1)
        return skip("heldout", "a held-out split of " + std::to_string(test_per) +
                                   " test face(s) per person leaves no training face for a person with " +
                                   std::to_string(smallest));
      const int train = static_cast<int>(y.size()) - test_per * static_cast<int>(per.size());
      if (train < 4)
        return skip("heldout",
                    "the held-out model needs at least 4 training faces; the split leaves " + std::to_string(train));
      const Split split = stratified_holdout(y, test_per, opt_.seed);
      ModelOptions mo = opt_.model;
      mo.seed = opt_.seed;
      mo.threads = opt_.threads;
      mo.umap = opt_.umap;
      // Past raw_max the analysis works in the PCA space, and 1-NN on raw rows would cost
      // O(n²·d); the PCA-space 1-NN is reported instead.
      const bool small = !large();
      // With space's exact Gram matrix attached, the held-out PCA and its cross-validated
      // refits iterate on n × n inner products instead of re-reading n × d rows (pca.hpp).
      RowSource rows = small ? RowSource(st_.raw) : st_.store->rows();
      if (has_gram()) rows = rows.with_gram(st_.gram);
      const bool all = idx.size() == st_.labels.size();
      const HeldoutScores h = heldout_scores(all ? rows : rows.subset(idx), y, split, mo, small);
      Json j;
      j["train"] = h.train;
      j["test"] = h.test;
      j["test_per_person"] = test_per;
      auto sp = [](const SpaceScore& s) {
        return Json{{"accuracy", round4(s.accuracy)},
                    {"closed_set_accuracy", round4(s.closed_accuracy)},
                    {"unknown_rate", round4(s.unknown_rate)}};
      };
      j["umap2_svm"] = sp(h.umap2);
      j["pca_svm"] = sp(h.pca);
      j["umapN_svm"] = sp(h.umapn);
      j["umapN_components"] = mo.umapn_components;
      j["pca_components"] = std::min(mo.pca_components, h.train - 1);
      if (h.raw_1nn >= 0) j["raw_1nn"] = round4(h.raw_1nn);
      j["pca_1nn"] = round4(h.pca_1nn);
      j["best_space"] = h.best;
      j["classify_ms_per_face"] = round4(h.seconds_per_face * 1e3);
      st_.heldout_j = j;
      for (const HeldoutMistake& m : h.mistakes)
        st_.mistakes.push_back({static_cast<size_t>(idx[static_cast<size_t>(m.test_row)]),
                                static_cast<size_t>(idx[static_cast<size_t>(m.shown_row)]), m.truth, m.predicted,
                                m.unknown});
    });
  }

 private:
  const AnalysisOptions& opt_;
  std::filesystem::path out_;
  State& st_;
  std::mutex mutex_;
  std::map<std::string, double> seconds_;
  std::map<std::string, Json> stages_;  // failed or skipped stages
  int trust_k_ = 10;
  RowMatrixF dbscan_x_;  // DBSCAN's rows past raw_max
  std::string dbscan_space_;
  std::vector<std::pair<std::string, Labels>> dbscan_labels_;  // prototype, suggested, best
};
// This process's own peak (VmHWM); getrusage's maxrss can carry the launching parent's peak.
double peak_rss_mb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}
}  // namespace

struct AnalysisStages::Impl {
  const AnalysisOptions opt;
  const std::filesystem::path out_dir;
  Clock::time_point t0 = Clock::now();
  State st;
  std::set<int> people;
  std::unique_ptr<Stages> stages;
};

AnalysisStages::AnalysisStages(const EmbeddingStore& store, const AnalysisOptions& opt,
                               const std::filesystem::path& out_dir)
    : impl_(new Impl{opt, out_dir, Clock::now(), {}, {}, nullptr}) {
  if (store.size() < 4)
    throw std::invalid_argument("analyze: need at least 4 faces, got " + std::to_string(store.size()));
  std::filesystem::create_directories(out_dir);
  State& st = impl_->st;
  std::set<int>& people = impl_->people;
  st.store = &store;
  st.labels = store.labels();
  st.names = store.header().labels;
  for (size_t i = 0; i < st.labels.size(); ++i)
    if (st.labels[i] >= 0) {
      people.insert(st.labels[i]);
      st.labelled_idx.push_back(static_cast<int>(i));
    }
  st.labelled = people.size() >= 2;
  impl_->stages = std::make_unique<Stages>(impl_->opt, impl_->out_dir, st);
}

AnalysisStages::~AnalysisStages() = default;

void AnalysisStages::prepare() { impl_->stages->prepare(); }
bool AnalysisStages::prepared() const { return impl_->stages->prepared(); }
bool AnalysisStages::placed() const { return impl_->st.umap.rows() > 0; }
void AnalysisStages::dbscan() { impl_->stages->dbscan_stage(); }
void AnalysisStages::umap() { impl_->stages->umap_stage(); }
void AnalysisStages::umap_charts() { impl_->stages->umap_charts(); }
void AnalysisStages::umap_svm() { impl_->stages->umap_svm(); }
void AnalysisStages::atlas() { impl_->stages->atlas(); }
void AnalysisStages::tsne() { impl_->stages->tsne_stage(); }
void AnalysisStages::classification() { impl_->stages->raw_classify(); }
void AnalysisStages::heldout() { impl_->stages->heldout(); }
void AnalysisStages::fail(const std::string& stage, const std::string& what) { impl_->stages->fail(stage, what); }

AnalysisResult AnalysisStages::result() const {
  const AnalysisOptions& opt = impl_->opt;
  const State& st = impl_->st;
  const Stages& stages = *impl_->stages;
  const std::set<int>& people = impl_->people;
  const EmbeddingStore& store = *st.store;
  const auto t0 = impl_->t0;
  AnalysisResult res;
  res.dbscan_labels_csv = stages.dbscan_labels_csv();
  res.faces.umap = st.umap;
  res.faces.neighbors = st.neighbors;
  res.faces.clusters = stages.dbscan_labels();
  res.faces.mistakes = st.mistakes;
  Json& r = res.report;
  r["vectors"] = {{"count", store.size()},
                  {"dims", store.dims()},
                  {"image_size", store.image_size()},
                  {"people", people.size()},
                  {"analysis_space", st.space_name}};
  r["parameters"] = {{"dbscan_eps", opt.dbscan.eps},
                     {"dbscan_min_pts", opt.dbscan.min_pts},
                     {"dbscan_normalize", opt.dbscan.normalize},
                     {"perplexity", opt.tsne.perplexity},
                     {"umap_n_neighbors", opt.umap.n_neighbors},
                     {"umap_min_dist", opt.umap.min_dist},
                     {"svm_C", opt.svm.C},
                     {"svm_gamma", opt.svm.gamma < 0 ? Json("scale") : Json(opt.svm.gamma)},
                     {"folds", opt.folds},
                     {"trust_k", opt.trust_k},
                     {"seed", opt.seed}};
  if (!st.dbscan.is_null()) r["dbscan"] = st.dbscan;
  if (!st.umap_j.is_null()) r["umap"] = st.umap_j;
  if (!st.tsne_j.is_null()) r["tsne"] = st.tsne_j;
  if (!st.classify_j.is_null()) r["classification"] = st.classify_j;
  if (!st.heldout_j.is_null()) r["heldout"] = st.heldout_j;
  r["charts"] = st.charts;
  r["stages"] = stages.stages();
  res.partial = stages.failed();
  r["partial"] = res.partial;
  r["seconds"] = stages.seconds();
  r["analysis_seconds"] = round4(std::chrono::duration<double>(Clock::now() - t0).count());
  r["peak_rss_mb"] = std::round(peak_rss_mb());

  res.summary = analysis_summary(r, opt);
  return res;
}

}  // namespace lumaflow
