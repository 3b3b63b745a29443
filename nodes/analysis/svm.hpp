// RBF support vector classifier (C-SVC, one-vs-one), meant to decide like sklearn's
// SVC(C=1, gamma='scale', kernel='rbf').
//
// Inputs: n×d float rows (one sample a row) and n labels ≥ 0 (any values, e.g. {3, 7, 11}).
// Training is OpenCV's cv::ml::SVM (a libsvm 2.6 derivative: SMO, K(x, y) = exp(−γ‖x − y‖²),
// k(k−1)/2 pairwise machines, stopping tolerance 1e-3 as in libsvm). The trained model is then
// copied out of OpenCV (support vectors, per-pair coefficients and offsets) and prediction is our
// own code: OpenCV's predict spreads work over its own thread pool and relabels classes; ours is a
// pure const function of the model (thread-safe), batches kernels through one GEMM, returns the
// original labels and reports a confidence.
//
// Decision: for each class pair (i < j) f_ij(x) = Σ α_s K(sv_s, x) − ρ_ij; f > 0 votes for i,
// otherwise for j (as libsvm). The label with most votes wins; ties go to the smaller label (as
// sklearn, whose classes are sorted). A model fitted on a single class always predicts it.
//
// Confidence of the winner w: the mean over the k−1 contests w takes part in of the two-class
// softmax of the margins, σ(2·f_wj) = e^{f}/(e^{f} + e^{−f}) with f oriented towards w. It is 0.5
// on a pairwise boundary, ≈0.88 on the margin (|f| = 1), tends to 1 deep inside a class, lies in
// [0, 1], and is 1 for a single-class model. It is a monotone score, not a calibrated
// probability (no Platt scaling).
//
// Complexity: fit is OpenCV's SMO, roughly O(k² · m² · d) for m samples per class; predicting q
// rows costs O(q · n_sv · d) (one GEMM) + O(q · k² · n_sv) for the pairwise sums. With many
// classes, predict_among votes among a shortlist only (the model draws it from the nearest people).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nodes/core/matrix.hpp"

namespace lumaflow {

struct SvmOptions {
  double C = 1.0;     // soft-margin penalty (sklearn default 1)
  double gamma = -1;  // RBF width; any negative value: sklearn "scale" = 1 / (d · Var(X)),
                      // Var over all n·d elements (population variance), 1 if Var(X) = 0
};

struct Prediction {
  int label = -1;          // an original training label
  float confidence = 0.f;  // in [0, 1], see the header comment
};

class SvmClassifier {
 public:
  // Labels must be ≥ 0 and y.size() == x.rows(); throws std::invalid_argument otherwise (also for
  // non-finite values, C ≤ 0, gamma == 0). Refitting replaces the model.
  void fit(MatrixRefF x, const Labels& y, const SvmOptions& opt = {});

  // One row of `dims` floats. Throws std::invalid_argument if dims differs from the training
  // dimension and std::runtime_error if the classifier was never fitted.
  int predict(const float* row, int dims) const;
  Prediction predict_one(const float* row, int dims) const;

  // Every row of x. `threads` splits the rows (1 = calling thread only, ≤ 0 = all cores); the
  // result does not depend on it. Rows are processed in blocks whose kernel values come from one
  // GEMM, so a row's decision values can differ from predict_one's in the last float bits.
  std::vector<Prediction> predict(MatrixRefF x, int threads = 1) const;

  // The vote among a shortlist of classes only (indices into classes(), any order, at least one):
  // their pairwise machines and the kernel values of their support vectors, O(m² · sv per pair +
  // m · sv per class · d) for m candidates instead of O(k² · …). Given every class it decides as
  // predict_one does (up to the last float bits of the kernel values); the confidence is the mean
  // over the m − 1 contests among the candidates.
  Prediction predict_among(const float* row, int dims, std::vector<int> candidates) const;

  bool fitted() const { return !classes_.empty(); }
  double gamma() const { return gamma_; }  // the γ actually used (after "scale")
  double C() const { return C_; }
  int dims() const { return dims_; }
  std::vector<int> classes() const { return classes_; }  // sorted original labels
  int support_vector_count() const { return static_cast<int>(sv_.rows()); }

  // Self-contained little-endian binary blob (magic, version, model, FNV-1a checksum).
  // deserialize throws std::runtime_error naming what is wrong for a truncated, corrupted or
  // foreign blob.
  std::string serialize() const;
  static SvmClassifier deserialize(const std::string& blob);

 private:
  struct PairMachine {  // classes (i, j), i < j, in row-major pair order
    double rho = 0;
    std::vector<int32_t> sv_index;  // rows of sv_
    std::vector<double> alpha;      // signed: > 0 pulls towards i
  };

  void check_ready(int dims) const;
  void finish_model();  // derived data (support vector norms)
  // Kernel rows for a block of queries → votes and confidences.
  void predict_block(MatrixRefF xb, Prediction* out) const;
  // One-vs-one vote among class indices `among` (ascending); kern(s) is K(sv_s, x). f and votes
  // are scratch space.
  template <class Kernel>
  Prediction vote(const std::vector<int>& among, Kernel&& kern, std::vector<double>& f, std::vector<int>& votes) const;

  int dims_ = 0;
  double gamma_ = 0;
  double C_ = 0;
  std::vector<int> classes_;
  RowMatrixF sv_;  // n_sv × d
  std::vector<PairMachine> pairs_;
  Eigen::VectorXd sv_sq_norms_;  // derived, not serialised
};

// Every row of x, each voting among the `m` classes nearest to it (predict_among): a class's
// distance to a row is that of its nearest row of `train`, the rows the classifier was fitted on
// (labelled y, in the same coordinates as x); ties go to the smaller label. m ≤ 0 or m ≥ the
// number of classes: predict(x, threads). The distances cost O(q · n_train · d) through blocked
// GEMMs and the votes O(q · (m² · sv per pair + m · sv per class · d)), against predict's
// O(q · k² · sv per pair): the way to score many people (k in the hundreds or more).
// `threads` splits the rows; the result does not depend on it.
std::vector<Prediction> predict_nearest(const SvmClassifier& svm, MatrixRefF train, const Labels& y, MatrixRefF x,
                                        int m, int threads = 1);

}  // namespace lumaflow
