// Approximate k-nearest neighbours (HNSW, Euclidean) for data sets too big for exact_knn.
//
// Inputs: row-major float matrices, one point a row. Output: the same KnnResult as exact_knn
// (indices nearest first, Euclidean distances, ties by index), so callers can switch freely.
// Build: hnswlib's hierarchical navigable small world graph, points inserted one by one in index
// order on ONE thread with a fixed level seed, so the same data and options give the same graph.
// Queries only read the graph and run in parallel; each query row's answer is independent of the
// batch it arrives in and of the thread count.
// Complexity: build ≈ O(n · log n · M · ef_construction · d), query ≈ O(log n · ef_search · d) per
// row; memory ≈ n · (4d + 8M) bytes (the index keeps its own copy of the data).
// Recall is not guaranteed; raise ef_search (and M, ef_construction) for more of it.
#pragma once

#include <memory>

#include "nodes/analysis/knn.hpp"
#include "nodes/core/matrix.hpp"

namespace lumaflow {

struct AnnOptions {
  int M = 16;                 // graph out-degree (hnswlib default); 2·M links on the base layer
  int ef_construction = 200;  // candidate list while building (hnswlib default)
  int ef_search = 100;        // candidate list while querying; the effective value is max(ef_search, k)
  uint64_t seed = 100;        // level generator seed (hnswlib default)
  int threads = 0;            // query threads; <= 0 → all cores. The build is single-threaded.
};

class AnnIndex {
 public:
  // Builds the index over the rows of data (copied). Throws std::invalid_argument on empty data,
  // non-finite values or bad options.
  explicit AnnIndex(MatrixRefF data, const AnnOptions& options = {});
  ~AnnIndex();
  AnnIndex(AnnIndex&&) noexcept;
  AnnIndex& operator=(AnnIndex&&) noexcept;
  AnnIndex(const AnnIndex&) = delete;
  AnnIndex& operator=(const AnnIndex&) = delete;

  Eigen::Index size() const;
  Eigen::Index dim() const;
  const AnnOptions& options() const;

  // k approximate nearest indexed points of every query row, nearest first. threads < 0 → the
  // index's options().threads. When fewer than k points are reachable the row is padded with
  // index -1 and distance +inf (hnswlib can return short lists on pathological data).
  KnnResult query(MatrixRefF query, int k, int threads = -1) const;

  // Self-query of the indexed data: with exclude_self, point i is dropped from its own list.
  KnnResult query_self(int k, bool exclude_self, int threads = -1) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One-shot helpers: build an index over data and query it.
KnnResult approximate_knn(MatrixRefF query, MatrixRefF data, int k, const AnnOptions& options = {});
KnnResult approximate_knn(MatrixRefF data, int k, bool exclude_self, const AnnOptions& options = {});

}  // namespace lumaflow
