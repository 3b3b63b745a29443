#include "nodes/measure/variants.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/face.hpp>
#include <set>
#include <stdexcept>

#include "nodes/analysis/dbscan.hpp"
#include "nodes/analysis/pca.hpp"
#include "nodes/measure/heldout.hpp"

namespace lumaflow {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::map<int, int> class_counts(const Labels& y) {
  std::map<int, int> per;
  for (int l : y) ++per[l];
  return per;
}

}  // namespace

int holdout_per_person(const Labels& y, int holdout_per_class) {
  const auto per = class_counts(y);
  if (per.empty()) return 0;
  int smallest = std::numeric_limits<int>::max();
  for (const auto& [l, c] : per) smallest = std::min(smallest, c);
  if (smallest < 2) return 0;  // a person needs a training and a test face
  return holdout_per_class > 0 ? holdout_per_class : std::max(1, smallest / 5);
}

Split variant_split(const Labels& y, const VariantOptions& opt) {
  const int per = holdout_per_person(y, opt.holdout_per_class);
  if (per == 0) return {};
  return stratified_holdout(y, per, opt.seed);
}

RowMatrixF whiten_rows(MatrixRefF x, int components, uint64_t seed, int threads) {
  if (x.rows() < 2) throw std::invalid_argument("whiten_rows: need at least 2 rows");
  PcaOptions po;
  po.components = static_cast<int>(std::min<Eigen::Index>({components, x.rows() - 1, x.cols()}));
  po.seed = seed;
  po.threads = threads;
  return fit_pca(x, po).transform(x, true);
}

VariantMetrics variant_metrics(MatrixRefF x, const Labels& y, const VariantOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  const Eigen::Index n = x.rows();
  if (static_cast<Eigen::Index>(y.size()) != n)
    throw std::invalid_argument("variant_metrics: one label per row needed");
  if (std::any_of(y.begin(), y.end(), [](int l) { return l < 0; }))
    throw std::invalid_argument("variant_metrics: every row needs a label >= 0");
  const auto per = class_counts(y);
  if (per.size() < 2 || n < 4)
    throw std::invalid_argument("variant_metrics: need at least 2 people and 4 faces, got " +
                                std::to_string(per.size()) + " and " + std::to_string(n));

  VariantMetrics m;
  m.faces = static_cast<int>(n);
  m.people = static_cast<int>(per.size());
  const RowMatrixF space = opt.whiten ? whiten_rows(x, opt.pca_components, opt.seed, opt.threads) : RowMatrixF(x);
  m.dims = static_cast<int>(space.cols());

  // DBSCAN at the knee: a parameter-free reading of "how many people does the geometry show".
  const bool normalize = !opt.whiten;
  const int min_pts = static_cast<int>(std::min<Eigen::Index>(opt.min_pts, n));
  m.eps = suggest_eps(space, min_pts, normalize, opt.threads);
  DbscanOptions d;
  d.eps = m.eps > 0 ? m.eps : 1e-6f;
  d.min_pts = min_pts;
  d.normalize = normalize;
  d.threads = opt.threads;
  const Labels c = dbscan(space, d);
  m.clusters = cluster_count(c);
  m.noise_fraction = noise_fraction(c);
  m.ari = adjusted_rand_index(y, c);
  m.nmi = normalized_mutual_info(y, c);

  m.loo_1nn = loo_1nn_accuracy(space, y, opt.threads);
  m.svm_kfold = n >= opt.folds ? kfold_svm_accuracy(space, y, opt.folds, opt.seed, opt.model.svm, opt.threads) : kNaN;

  UmapOptions u = opt.umap;
  u.n_components = 2;
  u.seed = opt.seed;
  u.threads = opt.threads;
  u.n_neighbors = static_cast<int>(std::min<Eigen::Index>(u.n_neighbors, n - 1));
  m.umap = umap_fit(space, u).embedding;
  m.svm_kfold_umap2 =
      n >= opt.folds ? kfold_svm_accuracy(m.umap, y, opt.folds, opt.seed, opt.model.svm, opt.threads) : kNaN;
  const int tk = static_cast<int>(std::min<Eigen::Index>(opt.trust_k, (n - 1) / 2));
  m.trustworthiness = tk >= 1 ? trustworthiness(space, m.umap, tk, opt.threads) : kNaN;

  // The held-out model always starts from the variant's own vectors and fits its PCA (whitened or
  // not) on the training faces alone.
  const Split split = variant_split(y, opt);
  std::set<int> train_people;
  for (int i : split.train) train_people.insert(y[static_cast<size_t>(i)]);
  if (!split.test.empty() && train_people.size() >= 2 && split.train.size() >= 4) {
    ModelOptions mo = opt.model;
    mo.whiten = opt.whiten;
    mo.pca_components = opt.pca_components;
    mo.umap = opt.umap;
    mo.seed = opt.seed;
    mo.threads = opt.threads;
    const HeldoutScores h = heldout_scores(x, y, split, mo);
    m.heldout_train = h.train;
    m.heldout_test = h.test;
    m.heldout_umap2_svm = h.umap2.accuracy;
    m.heldout_pca_svm = h.pca.accuracy;
  } else {
    m.heldout_umap2_svm = m.heldout_pca_svm = kNaN;
  }
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return m;
}

const char* recognizer_name(Recognizer r) {
  switch (r) {
    case Recognizer::eigen: return "eigenfaces";
    case Recognizer::fisher: return "fisherfaces";
    case Recognizer::lbph: return "lbph";
  }
  return "?";
}

double recognizer_accuracy(Recognizer r, MatrixRefF x, int side, const Labels& y, const Split& split) {
  if (side <= 0 || x.cols() != static_cast<Eigen::Index>(side) * side)
    throw std::invalid_argument("recognizer_accuracy: rows must hold side² = " + std::to_string(side) + "² values");
  if (static_cast<Eigen::Index>(y.size()) != x.rows())
    throw std::invalid_argument("recognizer_accuracy: one label per row needed");
  if (split.test.empty()) return kNaN;
  std::set<int> train_people;
  for (int i : split.train) train_people.insert(y.at(static_cast<size_t>(i)));
  if (train_people.size() < 2)
    throw std::invalid_argument("recognizer_accuracy: the training part needs at least 2 people");

  auto image = [&](int i) {
    cv::Mat m(side, side, CV_8UC1);
    for (int k = 0; k < side * side; ++k)
      m.data[k] = static_cast<uint8_t>(std::clamp(std::lround(x(i, k) * 255.0f), 0L, 255L));
    return m;
  };
  std::vector<cv::Mat> train;
  std::vector<int> ytrain;
  for (int i : split.train) {
    train.push_back(image(i));
    ytrain.push_back(y[static_cast<size_t>(i)]);
  }
  cv::Ptr<cv::face::FaceRecognizer> rec;
  switch (r) {
    case Recognizer::eigen: rec = cv::face::EigenFaceRecognizer::create(); break;
    case Recognizer::fisher: rec = cv::face::FisherFaceRecognizer::create(); break;
    case Recognizer::lbph: rec = cv::face::LBPHFaceRecognizer::create(); break;
  }
  rec->train(train, ytrain);
  int correct = 0;
  for (int i : split.test) correct += rec->predict(image(i)) == y[static_cast<size_t>(i)];
  return static_cast<double>(correct) / static_cast<double>(split.test.size());
}

}  // namespace lumaflow
