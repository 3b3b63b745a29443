#include "nodes/measure/heldout.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "nodes/analysis/knn.hpp"
#include "nodes/analysis/pca.hpp"
#include "nodes/analysis/svm_precomputed.hpp"
#include "nodes/core/distance.hpp"

namespace lumaflow {

RowMatrixF take_rows(MatrixRefF x, const std::vector<int>& idx) {
  RowMatrixF out(static_cast<Eigen::Index>(idx.size()), x.cols());
  for (size_t i = 0; i < idx.size(); ++i) out.row(static_cast<Eigen::Index>(i)) = x.row(idx[i]);
  return out;
}

Labels take(const Labels& y, const std::vector<int>& idx) {
  Labels out;
  out.reserve(idx.size());
  for (int i : idx) out.push_back(y[static_cast<size_t>(i)]);
  return out;
}

double nn1_accuracy(MatrixRefF train, const Labels& ytrain, MatrixRefF test, const Labels& ytest) {
  if (test.rows() == 0) return 0;
  const KnnResult nn = exact_knn(test, train, 1, false, 0);
  int ok = 0;
  for (Eigen::Index i = 0; i < test.rows(); ++i)
    ok += ytrain[static_cast<size_t>(nn.indices(i, 0))] == ytest[static_cast<size_t>(i)];
  return static_cast<double>(ok) / static_cast<double>(test.rows());
}

namespace {

// sklearn's gamma "scale": 1 / (n_features · Var(X)) over all elements of the rows `rows` of x
// (read in place: a training fold of 16,384-d rows is not copied).
double scale_gamma(MatrixRefF x, const std::vector<int>& rows) {
  double sum = 0, squares = 0;
  for (int r : rows) {
    sum += x.row(r).cast<double>().sum();
    squares += x.row(r).cast<double>().squaredNorm();
  }
  const double n = static_cast<double>(rows.size()) * static_cast<double>(x.cols());
  const double mean = sum / n;
  const double var = squares / n - mean * mean;
  return var > 0 ? 1.0 / (static_cast<double>(x.cols()) * var) : 1.0;
}

// The stratified folds as (training rows, test rows), folds with an empty side left out.
struct FoldRows {
  std::vector<int> train, test;
};
std::vector<FoldRows> fold_rows(const Labels& y, int folds, uint64_t seed) {
  const std::vector<int> fold = stratified_folds(y, folds, seed);
  std::vector<FoldRows> out;
  for (int f = 0; f < folds; ++f) {
    FoldRows r;
    for (size_t i = 0; i < y.size(); ++i) (fold[i] == f ? r.test : r.train).push_back(static_cast<int>(i));
    if (!r.test.empty() && !r.train.empty()) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

double kfold_svm_accuracy(MatrixRefF coords, MatrixRefF raw, const Labels& y, int folds, uint64_t seed,
                          const SvmOptions& svm, int threads) {
  int correct = 0, total = 0;
  for (const auto& [tr, te] : fold_rows(y, folds, seed)) {
    SvmOptions o = svm;
    if (o.gamma < 0) o.gamma = scale_gamma(raw, tr);  // on the raw training fold, as sklearn
    const RowMatrixF train = take_rows(coords, tr);
    const Labels ytr = take(y, tr);
    SvmClassifier c;
    c.fit(train, ytr, o);
    // Many people: each face votes among its nearest people only, as a fitted model does.
    const auto pred = predict_nearest(c, train, ytr, take_rows(coords, te),
                                      default_shortlist(static_cast<int>(c.classes().size())), threads);
    for (size_t i = 0; i < te.size(); ++i) correct += pred[i].label == y[static_cast<size_t>(te[i])];
    total += static_cast<int>(te.size());
  }
  return total ? static_cast<double>(correct) / total : 0.0;
}

KfoldSvm kfold_svm_precomputed(const Eigen::MatrixXd& sqdist, MatrixRefF raw, const Labels& y, int folds, uint64_t seed,
                               const SvmOptions& svm, int threads) {
  if (sqdist.rows() != static_cast<Eigen::Index>(y.size()) || raw.rows() != sqdist.rows())
    throw std::invalid_argument("kfold_svm_precomputed: one label and one raw row per distance row needed");
  int correct = 0, total = 0, models = 0;
  double svs = 0;
  for (const auto& [tr, te] : fold_rows(y, folds, seed)) {
    const double gamma = svm.gamma < 0 ? scale_gamma(raw, tr) : svm.gamma;
    const PrecomputedSvmResult r = precomputed_svm(sqdist, tr, take(y, tr), te, svm.C, gamma, threads);
    for (size_t i = 0; i < te.size(); ++i) correct += r.predicted[i] == y[static_cast<size_t>(te[i])];
    total += static_cast<int>(te.size());
    svs += r.support_vectors;
    ++models;
  }
  KfoldSvm out;
  out.accuracy = total ? static_cast<double>(correct) / total : 0.0;
  out.support_vectors = models ? svs / models : 0.0;
  return out;
}

double kfold_svm_accuracy(MatrixRefF x, const Labels& y, int folds, uint64_t seed, const SvmOptions& svm, int threads) {
  // d > n (pixels): distances from the exact Gram matrix, once for every fold and class pair.
  if (x.cols() > x.rows()) return kfold_svm_precomputed(squared_distances(x), x, y, folds, seed, svm, threads).accuracy;
  return kfold_svm_accuracy(x, x, y, folds, seed, svm, threads);
}

namespace {

// The first kTimedFaces test faces are classified on one thread, as the CLI classifies a face,
// and timed (*seconds_per_face); the rest on `threads` (a face's answer does not depend on its
// batch, so the split changes no answer).
constexpr size_t kTimedFaces = 200;

SpaceScore score(const FittedModel& m, const RowSource& test, const Labels& ytest, int threads,
                 double* seconds_per_face, std::vector<Classification>* out = nullptr) {
  const size_t timed = std::min(ytest.size(), kTimedFaces);
  std::vector<int> first(timed), rest(ytest.size() - timed);
  std::iota(first.begin(), first.end(), 0);
  std::iota(rest.begin(), rest.end(), static_cast<int>(timed));
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<Classification> res = classify_reduced(m, m.reduce(test.subset(first)), 1);
  if (seconds_per_face && timed > 0)
    *seconds_per_face = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / timed;
  if (!rest.empty()) {
    std::vector<Classification> more = classify_reduced(m, m.reduce(test.subset(rest)), threads);
    res.insert(res.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  if (out) *out = res;
  SpaceScore s;
  const double n = static_cast<double>(ytest.size());
  for (size_t i = 0; i < res.size(); ++i) {
    const bool right = res[i].label == ytest[i];
    s.accuracy += right && res[i].known;
    s.closed_accuracy += right;
    s.unknown_rate += !res[i].known;
  }
  if (n > 0) {
    s.accuracy /= n;
    s.closed_accuracy /= n;
    s.unknown_rate /= n;
  }
  return s;
}

}  // namespace

HeldoutScores heldout_scores(const RowSource& x, const Labels& y, const Split& split, const ModelOptions& opt,
                             bool with_raw_1nn) {
  HeldoutScores h;
  const RowSource xtr = x.subset(split.train), xte = x.subset(split.test);  // by index, no copy
  const Labels ytr = take(y, split.train), yte = take(y, split.test);
  h.train = static_cast<int>(split.train.size());
  h.test = static_cast<int>(split.test.size());
  ModelOptions o = opt;
  o.space = ClassifySpace::umapN;
  const FittedModel base = fit_model(xtr, ytr, o);
  h.umapn = score(base, xte, yte, opt.threads, nullptr);
  h.umap2 = score(with_space(base, ClassifySpace::umap2, opt.svm), xte, yte, opt.threads, nullptr);
  std::vector<Classification> pca_answers;
  h.pca =
      score(with_space(base, ClassifySpace::pca, opt.svm), xte, yte, opt.threads, &h.seconds_per_face, &pca_answers);
  if (with_raw_1nn && x.has_gram()) {
    const Eigen::MatrixXd g = x.gram();  // exact distances, O(test · train) instead of O(test · train · d)
    int ok = 0;
    for (int i : split.test) {
      int best = -1;
      double best_d = std::numeric_limits<double>::infinity();
      for (int j : split.train) {  // a tie keeps the earlier training face, as nn1_accuracy does
        const double d = gram_squared_l2(g, i, j);
        if (d < best_d) best_d = d, best = j;
      }
      ok += y[static_cast<size_t>(best)] == y[static_cast<size_t>(i)];
    }
    h.raw_1nn = h.test ? static_cast<double>(ok) / h.test : 0;
  } else if (with_raw_1nn) {
    h.raw_1nn = nn1_accuracy(xtr.matrix(), ytr, xte.matrix(), yte);
  }
  const RowMatrixF rte = base.reduce(xte);
  h.pca_1nn = nn1_accuracy(base.reduced, ytr, rte, yte);
  for (size_t i = 0; i < pca_answers.size(); ++i) {
    const Classification& c = pca_answers[i];
    if (c.known && c.label == yte[i]) continue;
    HeldoutMistake m{split.test[i], -1, yte[i], c.label, !c.known};
    float best = std::numeric_limits<float>::max();
    for (Eigen::Index j = 0; j < base.reduced.rows(); ++j)
      if (ytr[static_cast<size_t>(j)] == c.label) {
        const float d = (base.reduced.row(j) - rte.row(static_cast<Eigen::Index>(i))).squaredNorm();
        if (d < best) best = d, m.shown_row = split.train[static_cast<size_t>(j)];
      }
    if (m.shown_row >= 0) h.mistakes.push_back(m);
  }
  h.best = "pca";
  double best = h.pca.accuracy;
  if (h.umapn.accuracy > best) h.best = "umapN", best = h.umapn.accuracy;
  if (h.umap2.accuracy > best) h.best = "umap2";
  return h;
}

}  // namespace lumaflow
