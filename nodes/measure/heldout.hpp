// Evaluate: the measuring protocols behind analyze / fit / evaluate — numbers, not eyeballs.
//
//  - kfold_svm_accuracy: stratified k-fold accuracy of the RBF SVM (C, gamma "scale" computed
//    on each training fold, as sklearn's SVC does). When d > n (16384-d pixels, a few hundred
//    faces) the vectors are first rotated into their own span by an exact PCA keeping every
//    non-zero component: pairwise distances, hence RBF kernels, are unchanged, and the SVM fits
//    in n dimensions instead of d (same answer, far less work). Past kShortlistFrom people each
//    test face votes among its nearest people only (default_shortlist), as a fitted model does.
//  - heldout_scores: fit the model on a stratified split's training part, classify the test part
//    through the very same classify() the CLI uses, for each classify space (pca, umap2, umapN),
//    plus 1-NN in raw and reduced space. A known face reported "unknown" counts as an error.
#pragma once

#include <string>

#include "nodes/analysis/metrics.hpp"
#include "nodes/model/model.hpp"

namespace lumaflow {

double kfold_svm_accuracy(MatrixRefF x, const Labels& y, int folds, uint64_t seed, const SvmOptions& svm = {},
                          int threads = 0);

// Same, when the caller already holds isometric coordinates of the raw rows (span_coordinates):
// the SVM runs on `coords`, gamma "scale" is computed from the raw training rows.
double kfold_svm_accuracy(MatrixRefF coords, MatrixRefF raw, const Labels& y, int folds, uint64_t seed,
                          const SvmOptions& svm = {}, int threads = 0);

// Same, on precomputed squared distances between the rows (n × n, in y's order; e.g. from the
// exact Gram matrix): every fold and class pair reads its kernel values from them (libsvm,
// nodes/analysis/svm_precomputed.hpp). gamma "scale" comes from the raw training rows.
struct KfoldSvm {
  double accuracy = 0;
  double support_vectors = 0;  // per fold's model, mean over the folds
};
KfoldSvm kfold_svm_precomputed(const Eigen::MatrixXd& sqdist, MatrixRefF raw, const Labels& y, int folds, uint64_t seed,
                               const SvmOptions& svm = {}, int threads = 0);

struct SpaceScore {
  double accuracy = 0;         // correct and known / test faces
  double closed_accuracy = 0;  // correct label, ignoring the open-set decision
  double unknown_rate = 0;     // known faces reported unknown / test faces
};

// A test face the pca-space model got wrong (or called unknown), with the training face of the
// predicted person nearest to it in the model's reduced space (rows of the x given to
// heldout_scores).
struct HeldoutMistake {
  int test_row = 0, shown_row = 0;
  int truth = 0, predicted = 0;
  bool unknown = false;
};

struct HeldoutScores {
  int train = 0, test = 0;
  SpaceScore pca, umap2, umapn;
  double raw_1nn = -1, pca_1nn = 0;      // raw_1nn −1: not computed
  std::string best;                      // the classify space with the highest accuracy
  double seconds_per_face = 0;           // classify() time a test face, one thread (pca space, first 200)
  std::vector<HeldoutMistake> mistakes;  // pca space, in test order
};

// with_raw_1nn: also 1-NN on the raw rows, O(test·train·d) — a minute at 16,000 × 16384-d.
// x may be a RowSource (a store's mapped rows): the split is taken by index and the PCA streams.
HeldoutScores heldout_scores(const RowSource& x, const Labels& y, const Split& split, const ModelOptions& opt,
                             bool with_raw_1nn = true);
inline HeldoutScores heldout_scores(MatrixRefF x, const Labels& y, const Split& split, const ModelOptions& opt,
                                    bool with_raw_1nn = true) {
  return heldout_scores(RowSource(x), y, split, opt, with_raw_1nn);
}

// 1-NN accuracy of test rows against train rows.
double nn1_accuracy(MatrixRefF train, const Labels& ytrain, MatrixRefF test, const Labels& ytest);

// Rows of x picked by idx.
RowMatrixF take_rows(MatrixRefF x, const std::vector<int>& idx);
Labels take(const Labels& y, const std::vector<int>& idx);

}  // namespace lumaflow
