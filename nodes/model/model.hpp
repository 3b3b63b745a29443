// Model: fit a classifier of faces on embedded training vectors, place and classify new faces,
// and save/load it (schemas/model.fbs).
//
// Fit (n raw vectors pixel/255, d = N²):
//   PCA (k components, reusable basis) -> reduced n×k
//   UMAP 2-D on the reduced vectors (placing and drawing) [+ UMAP N-D when classifying there]
//   RBF SVM in the classify space (pca | umap2 | umapN); kNN (exact, k = knn_k) in the reduced
//   space for the reported neighbours and the open-set test.
// Many people: past kShortlistFrom people the SVM votes among the nearest people only (a
// shortlist drawn from the kNN distances), so its cost stops growing with people².
// Open set: a face is unknown when it is farther than a threshold from every training face, or
// when it sits nearly as close to a second person as to the nearest (nearest-person /
// second-person distance ratio). See OpenSetRule for how the thresholds are calibrated.
// Classify is per face: the result never depends on what else is classified with it (UMAP
// transform is seeded from the face's own bytes). Cost per face: O(d·k) projection +
// O(n·k) kNN + UMAP transform (O(k_nn · epochs)) + SVM (O(support vectors · dims)).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "nodes/analysis/pca.hpp"
#include "nodes/analysis/svm.hpp"
#include "nodes/analysis/umap.hpp"
#include "nodes/core/matrix.hpp"
#include "nodes/store/store.hpp"

namespace lumaflow {

inline constexpr uint32_t kModelFormatVersion = 2;  // 2: framed with a checksum (nodes/store/frame.hpp)

struct ModelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class ClassifySpace { pca, umap2, umapN };

// The one-vs-one SVM's cost per face grows with people²; past this many people fit makes it vote
// among the kShortlistPeople nearest people only (measured at 1,000 people: README, "Many people").
inline constexpr int kShortlistFrom = 64;
inline constexpr int kShortlistPeople = 16;
// The shortlist fit chooses for this many people (0: every pair votes); analyze's k-fold SVMs and
// decision-region chart use the same rule, so they measure the classifier fit would build.
inline int default_shortlist(int people) { return people > kShortlistFrom ? kShortlistPeople : 0; }

// How the open-set thresholds are calibrated on the training faces:
//  cv:    both thresholds by stratified cross-validation to a stated false-reject rate of known
//         faces (nodes/model/calibrate; default 2 %) — the calibration, for pixels and learned
//         descriptors alike wherever the set is large enough to estimate that rate
//         (cv_can_calibrate);
//  pairs: the distance that best separates same-person from different-person training pairs
//         (equal error of the two rates), no ratio test — for a learned descriptor fitted on a
//         set too small for cv, whose distances mean something across capture conditions that
//         its few training crops do not show (tvshow, 39 faces: cv names 18 of the 22
//         tvshow-frames cast faces, pairs 22; orl s1–s36, 287 faces: cv rejects 100 % of the
//         strangers, pairs 75 %).
enum class OpenSetRule { cv, pairs };
ClassifySpace parse_classify_space(const std::string& s);  // pca | umap2 | umapN
const char* classify_space_name(ClassifySpace s);

struct ModelOptions {
  int pca_components = 100;  // clamped to min(n − 1, d); <= 0: no reduction (identity_basis), the
                             // choice for learned vectors, whose own distances are the point
  bool whiten = false;       // PCA-whitened reduced space (eigenfaces with unit variance)
  UmapOptions umap;          // the 2-D placement (n_components forced to 2)
  int umapn_components = 8;  // UMAP dimension for ClassifySpace::umapN
  ClassifySpace space = ClassifySpace::pca;
  SvmOptions svm;              // C 1, gamma "scale" (computed in the classify space)
  int knn_k = 5;               // neighbours reported per face
  int shortlist = -1;          // people the SVM votes among per face, the nearest first (nearest
                               // training face per person); 0: every person (one-vs-one over all
                               // pairs, people²/2 decisions); −1: by size — all up to
                               // kShortlistFrom people, kShortlistPeople past that
  float open_set_frr = 0.02f;  // known faces allowed to be called unknown (cross-validated)
  int open_set_folds = 5;      // folds of that cross-validation
  OpenSetRule open_set = OpenSetRule::cv;
  float open_set_margin = 1.15f;  // unknown_eps = median within-person nearest distance × margin
  int min_faces = 5;              // DBSCAN minPts among unknown faces (a proposed identity)
  uint64_t seed = 42;
  int threads = 0;
};

struct FittedModel {
  Preprocessing prep;
  uint64_t store_hash = 0;
  std::vector<std::string> labels;  // label index -> name
  Labels train_labels;
  std::vector<std::string> train_paths;
  PcaModel pca;
  bool whiten = false;
  RowMatrixF reduced;  // n × k training vectors in the reduced space
  UmapModel umap2;
  std::optional<UmapModel> umapn;
  ClassifySpace space = ClassifySpace::pca;
  SvmClassifier svm;
  int shortlist = 0;  // people the SVM votes among per face (0: all)
  int knn_k = 5;
  float open_set_threshold = 0;   // nearest-face distance above this -> unknown
  float open_set_ratio = 1;       // nearest/second-person distance ratio above this -> unknown
  float open_set_frr = 0;         // the stated false-reject rate both were calibrated to (0: an older
                                  // model, calibrated by percentile)
  float open_set_cv_frr = -1;     // the rate measured on the calibration folds (-1: not measured)
  float open_set_percentile = 0;  // older models only
  int min_faces = 5;
  float unknown_eps = 0;  // DBSCAN eps among unknowns (reduced space)
  Labels dbscan_labels;   // DBSCAN of the training set (reduced space, unknown_eps)
  float dbscan_eps = 0;
  float heldout_accuracy = -1;

  int dims() const { return static_cast<int>(pca.mean.size()); }
  // Raw vectors (pixel/255, rows) -> reduced space.
  RowMatrixF reduce(MatrixRefF raw) const;
  RowMatrixF reduce(const RowSource& raw) const;
};

struct Neighbor {
  int index = -1;  // training face
  int label = -1;
  float distance = 0;  // Euclidean, reduced space
};

struct Classification {
  int label = -1;                // predicted person (index into labels); valid even when unknown
  float confidence = 0;          // SVM confidence in [0, 1]
  bool known = false;            // false: farther than the open-set threshold from every training face
  float nearest = 0;             // distance to the nearest training face (reduced space)
  float ratio = 0;               // nearest-person / second-nearest-person distance
  float umap_x = 0, umap_y = 0;  // 2-D UMAP position
  std::vector<Neighbor> neighbors;
};

// Fits on raw vectors x (n × d, pixel/255) with labels y (all ≥ 0). Throws std::invalid_argument
// for fewer than 2 people or too few faces for the options.
// x may be a RowSource (e.g. a store's mapped rows): the PCA streams it and no n × d float
// matrix is made.
FittedModel fit_model(const RowSource& x, const Labels& y, const ModelOptions& opt);
inline FittedModel fit_model(MatrixRefF x, const Labels& y, const ModelOptions& opt) {
  return fit_model(RowSource(x), y, opt);
}

// Fits on a store (labelled records only); records preprocessing, label names and store hash.
// gram: X·Xᵀ of all the store's rows (gram_matrix, nodes/analysis/pca.hpp), when given the PCA
// and its cross-validated refits iterate on it instead of re-reading the rows (d > n).
FittedModel fit_model(const EmbeddingStore& store, const ModelOptions& opt, const Eigen::MatrixXd* gram = nullptr);

// The same model classifying in another space: the SVM is retrained there (for umapN the model
// must hold the N-D UMAP). Identical to fit_model with that space, without refitting PCA/UMAP.
FittedModel with_space(const FittedModel& model, ClassifySpace space, const SvmOptions& svm = {});

// Classifies raw vectors (rows). Each row's result is independent of the others.
std::vector<Classification> classify(const FittedModel& model, MatrixRefF raw, int threads = 1);
// The same for rows already in the model's reduced space (model.reduce(raw)).
std::vector<Classification> classify_reduced(const FittedModel& model, const RowMatrixF& z, int threads = 1);

// 64-bit hash identifying a store's contents (records' hashes and pixels).
uint64_t store_hash(const EmbeddingStore& store);

// Atomic write (PATH.tmp + rename); load verifies the FlatBuffer and throws ModelError with the
// path for a missing, truncated or damaged file.
void save_model(const std::filesystem::path& path, const FittedModel& model);
FittedModel load_model(const std::filesystem::path& path);

}  // namespace lumaflow
