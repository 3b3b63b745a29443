// Exact, deterministic DBSCAN that reproduces scikit-learn's
// DBSCAN(eps, min_samples, metric='euclidean') labels, plus the k-distance curve and its knee.
//
// Inputs: n×d row-major float points (one point a row), Euclidean distance, optionally after
// scaling every row to unit L2 norm. Outputs: Labels with clusters 0.. in discovery order and
// −1 for noise.
// Semantics (sklearn's): j is a neighbour of i iff ‖xi − xj‖ <= eps; the point counts itself
// toward min_pts; i is core iff it has >= min_pts neighbours; clusters are grown from core
// points taken in index order; a border point belongs to the first cluster that reaches it.
// Precision: distances come from blocked float GEMM (‖x‖² + ‖y‖² − 2·x·y) on the rows as given,
// the L2 scaling applied to each product afterwards (no normalised copy of x); any pair whose
// GEMM value lies within a small band of eps² is re-decided from the exact double-precision
// distance, so labels equal those of a float64 computation on the same float rows and do not
// depend on the thread count. eps is read as the decimal number it prints as (0.45f → 0.45),
// like the Python float a user would have typed.
// Method: sklearn's clusters are the connected components of the core points, numbered by each
// component's smallest index; a border point joins the lowest-numbered cluster among its core
// neighbours. So dbscan() needs neighbour counts and a union-find, not the neighbourhoods:
// one distance pass when the pairs within eps fit `pair_budget`, else a second pass.
// Complexity: O(n²·d) time (half of the n×n distances, by symmetry; twice that past the
// budget), memory O(n·d) for x plus O(min(pairs, pair_budget) + n·(threads + min_pts)); an n×n
// matrix is never kept.
// From a Gram matrix (GramInput): every function below also reads its distances from a
// precomputed G = X·Xᵀ in O(1) a pair (d²ᵢⱼ = Gᵢᵢ + Gⱼⱼ − 2Gᵢⱼ, scaled by 1/‖xᵢ‖·1/‖xⱼ‖ when
// normalising; a zero row stays the zero point, as above), so a pass costs O(n²) instead of
// O(n²·d) and no other n×n matrix is made. Pairs whose Gram distance lies within a thin band
// (4e-6 of the squared norms) of eps² are re-decided from the rows when they are given (one
// O(d) product each, a handful per pass), which makes the labels, k-distances and radii
// identical to the row path's on those rows; without rows, the Gram's double value decides.
// Both paths share one implementation: algorithms walk blocks of dot products from a "pair
// source" (float GEMM blocks of the rows, or views of G) and ask it for exact values near eps.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "nodes/core/matrix.hpp"

namespace lumaflow {

struct DbscanOptions {
  float eps = 0.5f;       // neighbourhood radius, Euclidean, > 0 (sklearn's default)
  int min_pts = 5;        // neighbours (self included) that make a core point, >= 1 (sklearn's min_samples)
  bool normalize = true;  // L2-normalise rows first, as the prototype did
  int threads = 0;        // <= 0: all cores; the result does not depend on it
  int64_t pair_budget = int64_t{1} << 23;  // neighbour pairs kept between passes (8 bytes each)
};

// The rows X of a DBSCAN input, given by their Gram matrix G = X·Xᵀ (n × n, symmetric, double,
// e.g. gram_matrix() of pca.hpp, exact for pixel rows). rows, when given, are X itself (n rows;
// only the pairs within the band of eps are read from it). Both are referenced, not copied:
// they must outlive the call (and a RadiusNeighborhoods built from them).
struct GramInput {
  const Eigen::MatrixXd& gram;
  const RowMatrixF* rows = nullptr;
};

// DBSCAN labels of the rows of x.
Labels dbscan(MatrixRefF x, const DbscanOptions& opt);
// The same from a Gram matrix: O(n²) (twice past the pair budget); equal to dbscan(*g.rows, opt)
// when g.rows is given.
Labels dbscan(const GramInput& g, const DbscanOptions& opt);

// The double a user meant when they wrote this float: its shortest decimal form, read as a
// double (0.45f → 0.45). Every "within eps" decision reads eps this way, so they all agree.
double decimal_value(float v);

namespace detail {
// Symmetric radius graph in CSR form: the neighbours of i (self excluded, in no set order) are
// neighbors[offsets[i] .. offsets[i+1]), with their approximate squared distances in sq_dist
// (GEMM or Gram, stored as float); |sq_dist − exact| <= band·(sq_norm[i] + sq_norm[j]).
struct RadiusGraph {
  std::vector<int64_t> offsets;
  std::vector<int32_t> neighbors;
  std::vector<float> sq_dist;
  std::vector<float> sq_norm;  // squared norms of the (scaled) rows (set the error band)
  double band = 0;
};
}  // namespace detail

// Neighbourhoods within max_eps computed once, then DBSCAN for any eps <= max_eps (an eps
// sweep costs one O(n²·d) pass, O(n²) from a Gram matrix, plus O(pairs) per eps). Keeps a copy
// of x (for exact re-decisions near each eps) and the neighbour pairs, 16 bytes per unordered
// pair. When max_eps would hold more than about max_pairs pairs, max_eps is lowered to fit:
// memory stays bounded by the budget instead of growing with n². The cap is the exact distance
// quantile (found like the k-distances) of the pairs of up to 512 evenly spaced rows with all
// rows, one float below, so the Gram and row paths cap at the same max_eps.
class RadiusNeighborhoods {
 public:
  RadiusNeighborhoods(MatrixRefF x, float max_eps, bool normalize, int threads = 0,
                      int64_t max_pairs = int64_t{1} << 23);
  // From a Gram matrix: one O(n²) pass; keeps references to g.gram and g.rows (no copy), which
  // must outlive this object. Same max_eps, capped() and labels as the row version when g.rows
  // is given.
  RadiusNeighborhoods(const GramInput& g, float max_eps, bool normalize, int threads = 0,
                      int64_t max_pairs = int64_t{1} << 23);

  // Same labels as lumaflow::dbscan(x, {eps, min_pts, normalize}). Throws if eps > max_eps.
  Labels dbscan(float eps, int min_pts) const;
  // Neighbours of every point within eps, the point itself included (sklearn's n_neighbors).
  std::vector<int> neighbor_counts(float eps) const;

  int size() const { return static_cast<int>(graph_.offsets.size()) - 1; }
  float max_eps() const { return max_eps_; }  // after the budget's cap
  bool capped() const { return max_eps_ < requested_max_eps_; }
  // Unordered pairs stored (distance <= max_eps, plus the error band: a Gram matrix's band is
  // thinner than the GEMM's, so it may store a few fewer pairs than the row version).
  int64_t stored_pairs() const { return static_cast<int64_t>(graph_.neighbors.size() / 2); }

 private:
  std::vector<uint8_t> within(float eps) const;

  // Exact squared distance of a stored pair; owns the row copy (row version) or refers to the
  // Gram matrix (Gram version).
  std::function<double(int32_t, int32_t)> exact_;
  detail::RadiusGraph graph_;
  float max_eps_, requested_max_eps_;
  int threads_;
};

// Distance of every point to its k-th nearest neighbour, the point itself counting as the
// first (k = min_pts gives the core distance), sorted ascending; exact to double precision.
std::vector<float> k_distances(MatrixRefF x, int k, bool normalize, int threads = 0);
std::vector<float> k_distances(const GramInput& g, int k, bool normalize, int threads = 0);

// Knee of an ascending curve: the value at the point farthest from the chord between its
// first and last points, both axes scaled to [0, 1] ("Kneedle"); ties go to the first point.
float knee_of_sorted(const std::vector<float>& ascending);

// A starting eps for DBSCAN with min_pts = k: knee_of_sorted(k_distances(x, k, normalize)),
// raised by 1e-4 of itself. The knee is some point's exact k-th neighbour distance, so at the
// knee itself whether that point is core hangs on the last bit of rounding (another tool, a
// float32 normalisation, decides it the other way); the margin makes the answer robust.
float suggest_eps(MatrixRefF x, int k, bool normalize, int threads = 0);
float suggest_eps(const GramInput& g, int k, bool normalize, int threads = 0);

// The eps values of a sweep up to `top`: top·s/steps for s = 1..steps, each at most `top` and the
// last exactly `top` (in float, top·s/steps can round above top: 3.8 million floats in [0.05, 2)
// do so for some s of 40), so every value is valid for RadiusNeighborhoods(max_eps = top).
std::vector<float> eps_sweep(float top, int steps);

}  // namespace lumaflow
