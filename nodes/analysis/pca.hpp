// Truncated PCA with a reusable fitted basis (to place new faces in the same space later).
//
// Input: n×d row-major float points. Output: PcaModel with the mean (d), the top k principal
// axes as orthonormal rows (k×d), their sample variances (divided by n−1, descending) and the
// total variance of the data; k = min(components, n−1, d).
// Solvers: "exact" eigen-solves the smaller of the Gram matrix Xc·Xcᵀ (n×n) or the covariance
// Xcᵀ·Xc (d×d) — O(n·m·d) for m = min(n, d), exact to float GEMM precision; "randomized" is
// Halko–Martinsson–Tropp with power iterations — O((2q+4)·n·d·(k+p)), never holds more than a
// tile of the centred data. Auto picks exact when min(n, d) <= 1000 (or when k+p nearly spans
// the data), randomized otherwise.
// Determinism: the random test matrix comes only from `seed`, GEMMs run on tiles of fixed shape,
// and each axis is sign-fixed so its largest-magnitude entry is positive: the same input and
// seed give the same model for any thread count, and for a matrix or a RowSource of its rows.
// Streaming: from a RowSource (nodes/core/rows.hpp, e.g. a store's mapped byte rows) the
// randomized solver reads tiles of 256 rows or of up to 512 columns (fewer past 131,072 rows, so
// a tile stays ≤ 256 MB) and never holds n × d floats; the exact solver, chosen only when
// min(n, d) ≤ 1000, reads the whole matrix.
// From a Gram matrix: when the source carries X·Xᵀ (RowSource::with_gram) and n ≤ d, the
// randomized solver iterates on the centred n×n Gram instead (q+2 products of n²·(k+p), no row
// read) and reads the rows three times (mean, axes, variances): at n = 3,600, d = 16,384 a
// fraction of the row solver's cost, for the same subspace to within the solver's tolerance
// (not bit-identical to the row path). Cross-validated refits on subsets reuse one Gram matrix.
#pragma once

#include <cstdint>

#include "nodes/core/matrix.hpp"
#include "nodes/core/rows.hpp"

namespace lumaflow {

enum class PcaSolver { Auto, Exact, Randomized };

struct PcaOptions {
  int components = 50;  // k, clamped to min(n−1, d)
  int oversample = 10;  // p: extra random directions for the randomized solver
  int power_iters = 4;  // q: power iterations of the randomized solver
  uint64_t seed = 42;   // seeds the randomized solver's test matrix
  int threads = 0;      // <= 0: all cores; the result does not depend on it
  PcaSolver solver = PcaSolver::Auto;
};

struct PcaModel {
  VectorF mean;                // d
  RowMatrixF components;       // k×d, orthonormal rows, largest-|entry| of each row positive
  VectorF explained_variance;  // k, descending, sample variance (n−1) along each axis
  float total_variance = 0;    // sum of the d per-feature sample variances

  // (x − mean)·componentsᵀ, n×k; whiten divides each column by sqrt(explained_variance).
  RowMatrixF transform(MatrixRefF x, bool whiten = false) const;
  // The same, reading the rows a tile at a time (no n × d copy).
  RowMatrixF transform(const RowSource& x, bool whiten = false) const;
  // z·components + mean, n×d; whiten says z came from transform(x, true).
  RowMatrixF inverse_transform(MatrixRefF z, bool whiten = false) const;
  int dims() const { return static_cast<int>(mean.size()); }        // d, the input dimension
  int size() const { return static_cast<int>(components.rows()); }  // k, the number of axes
};

PcaModel fit_pca(const RowSource& x, const PcaOptions& opt);
inline PcaModel fit_pca(MatrixRefF x, const PcaOptions& opt) { return fit_pca(RowSource(x), opt); }

// The "no reduction" basis: mean of x, the d unit axes as components (k = d), each column's
// sample variance as explained_variance (not sorted). transform() only centres, so distances
// are exactly those of x — for learned descriptors, whose Euclidean distance is calibrated.
PcaModel identity_basis(MatrixRefF x);

// The n × n Gram matrix X·Xᵀ in double. Pixel rows (every value byte / 255) are multiplied
// exactly (integer dot products, float GEMM in blocks of 256 columns); other rows in double.
// O(n²·d / 2) multiply-adds, O(n²) memory.
Eigen::MatrixXd gram_matrix(MatrixRefF x);

// Coordinates of the rows in an n-dimensional space with the same pairwise Euclidean distances
// as x (an isometry), centred: rows of a Cholesky factor of the Gram matrix (pivoted LDLᵀ when
// rows repeat). O(n²·d / 2 + n³ / 3) time, O(n²) memory: for n ≤ a few thousand with d ≫ n it
// lets every distance-based stage run in n instead of d dimensions. The axes are not ordered by
// variance (use PCA for that). gram: when given, receives gram_matrix(x) (the k-fold SVM reads
// its distances from it).
RowMatrixF span_coordinates(MatrixRefF x, Eigen::MatrixXd* gram = nullptr);

// Coordinates, n × (k+1), of the reconstructions inverse_transform(z) = z·components + mean in
// an orthonormal basis of span(components, mean): the same inner products with each other and
// with the origin, so the same norms, angles and L2-normalised distances, at k+1 instead of d
// values a row. z: transform(x) scores (not whitened). O(n·k + k·d).
RowMatrixF reconstruction_coordinates(const PcaModel& pca, MatrixRefF z);

}  // namespace lumaflow
