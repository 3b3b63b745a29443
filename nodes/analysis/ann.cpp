#include "nodes/analysis/ann.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "nodes/core/distance.hpp"
#include "nodes/core/parallel.hpp"

// hnswlib 0.6's SSE code path prefetches through the entry one past the end of a neighbour
// list, a heap over-read that AddressSanitizer rightly reports (nmslib/hnswlib#107, #578). With
// NO_MANUAL_VECTORIZATION that path (and its global non-inline cpuid helpers, which break
// linking when two files include the header) is compiled out; the distance function below,
// written so the compiler vectorises it, takes the place of hnswlib's SSE one.
#define NO_MANUAL_VECTORIZATION
#include <hnswlib/hnswlib.h>

namespace lumaflow {

namespace {

// Squared Euclidean distance by lane_squared_l2 (fixed summation order, so distances do not
// depend on how the data are batched).
class LaneL2Space final : public hnswlib::SpaceInterface<float> {
 public:
  explicit LaneL2Space(size_t dim) : dim_(dim) {}
  size_t get_data_size() override { return dim_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return &distance; }
  void* get_dist_func_param() override { return &dim_; }

 private:
  static float distance(const void* pa, const void* pb, const void* param) {
    return lane_squared_l2(static_cast<const float*>(pa), static_cast<const float*>(pb),
                           *static_cast<const size_t*>(param));
  }
  size_t dim_;
};

}  // namespace

struct AnnIndex::Impl {
  AnnOptions options;
  Eigen::Index n = 0, d = 0;
  std::unique_ptr<LaneL2Space> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index;
};

namespace {

void check_options(const AnnOptions& o) {
  if (o.M < 2) throw std::invalid_argument("AnnIndex: M must be >= 2, got " + std::to_string(o.M));
  if (o.ef_construction < 1)
    throw std::invalid_argument("AnnIndex: ef_construction must be >= 1, got " + std::to_string(o.ef_construction));
  if (o.ef_search < 1)
    throw std::invalid_argument("AnnIndex: ef_search must be >= 1, got " + std::to_string(o.ef_search));
}

// Sorted (distance, index) so the output order matches exact_knn's (ties by index).
void write_row(std::vector<std::pair<float, int32_t>>& cand, int k, Eigen::Index row, KnnResult& out) {
  std::sort(cand.begin(), cand.end());
  for (int j = 0; j < k; ++j) {
    if (j < static_cast<int>(cand.size())) {
      out.indices(row, j) = cand[static_cast<size_t>(j)].second;
      out.distances(row, j) = std::sqrt(std::max(0.0f, cand[static_cast<size_t>(j)].first));
    } else {
      out.indices(row, j) = -1;
      out.distances(row, j) = std::numeric_limits<float>::infinity();
    }
  }
}

}  // namespace

AnnIndex::AnnIndex(MatrixRefF data, const AnnOptions& options) : impl_(std::make_unique<Impl>()) {
  check_options(options);
  if (data.rows() == 0 || data.cols() == 0) throw std::invalid_argument("AnnIndex: empty data");
  if (!data.allFinite()) throw std::invalid_argument("AnnIndex: data contains NaN or infinite values");
  impl_->options = options;
  impl_->n = data.rows();
  impl_->d = data.cols();
  impl_->space = std::make_unique<LaneL2Space>(static_cast<size_t>(data.cols()));
  impl_->index = std::make_unique<hnswlib::HierarchicalNSW<float>>(
      impl_->space.get(), static_cast<size_t>(data.rows()), static_cast<size_t>(options.M),
      static_cast<size_t>(options.ef_construction), static_cast<size_t>(options.seed));
  impl_->index->setEf(static_cast<size_t>(options.ef_search));
  // Single-threaded, in index order: hnswlib's graph depends on insertion order, and parallel
  // insertion would make it depend on thread timing.
  for (Eigen::Index i = 0; i < data.rows(); ++i)
    impl_->index->addPoint(data.row(i).data(), static_cast<hnswlib::labeltype>(i));
}

AnnIndex::~AnnIndex() = default;
AnnIndex::AnnIndex(AnnIndex&&) noexcept = default;
AnnIndex& AnnIndex::operator=(AnnIndex&&) noexcept = default;

Eigen::Index AnnIndex::size() const { return impl_->n; }
Eigen::Index AnnIndex::dim() const { return impl_->d; }
const AnnOptions& AnnIndex::options() const { return impl_->options; }

KnnResult AnnIndex::query(MatrixRefF query, int k, int threads) const {
  if (query.cols() != impl_->d)
    throw std::invalid_argument("AnnIndex::query: query has " + std::to_string(query.cols()) + " columns, index has " +
                                std::to_string(impl_->d));
  if (k <= 0 || k > impl_->n)
    throw std::invalid_argument("AnnIndex::query: k=" + std::to_string(k) + " but the index holds " +
                                std::to_string(impl_->n) + " points");
  if (!query.allFinite()) throw std::invalid_argument("AnnIndex::query: query contains NaN or infinite values");
  if (threads < 0) threads = impl_->options.threads;
  KnnResult out;
  out.indices.resize(query.rows(), k);
  out.distances.resize(query.rows(), k);
  parallel_for(query.rows(), threads, [&](std::ptrdiff_t i) {
    // hnswlib reads the query through a raw pointer: give it a contiguous row.
    const Eigen::RowVectorXf q = query.row(i);
    auto heap = impl_->index->searchKnn(q.data(), static_cast<size_t>(k));
    std::vector<std::pair<float, int32_t>> cand;
    cand.reserve(heap.size());
    for (; !heap.empty(); heap.pop()) cand.emplace_back(heap.top().first, static_cast<int32_t>(heap.top().second));
    write_row(cand, k, i, out);
  });
  return out;
}

KnnResult AnnIndex::query_self(int k, bool exclude_self, int threads) const {
  const Eigen::Index avail = impl_->n - (exclude_self ? 1 : 0);
  if (k <= 0 || k > avail)
    throw std::invalid_argument("AnnIndex::query_self: k=" + std::to_string(k) + " but only " + std::to_string(avail) +
                                " candidate neighbours");
  if (threads < 0) threads = impl_->options.threads;
  const int kq = exclude_self ? k + 1 : k;
  KnnResult out;
  out.indices.resize(impl_->n, k);
  out.distances.resize(impl_->n, k);
  parallel_for(impl_->n, threads, [&](std::ptrdiff_t i) {
    // Internal ids equal labels: points were inserted in index order.
    const void* q = impl_->index->getDataByInternalId(static_cast<hnswlib::tableint>(i));
    auto heap = impl_->index->searchKnn(q, static_cast<size_t>(kq));
    std::vector<std::pair<float, int32_t>> cand;
    cand.reserve(heap.size());
    for (; !heap.empty(); heap.pop()) {
      const auto idx = static_cast<int32_t>(heap.top().second);
      if (!(exclude_self && idx == i)) cand.emplace_back(heap.top().first, idx);
    }
    write_row(cand, k, i, out);  // drops the farthest when self was not found
  });
  return out;
}

KnnResult approximate_knn(MatrixRefF query, MatrixRefF data, int k, const AnnOptions& options) {
  const AnnIndex index(data, options);
  return index.query(query, k);
}

KnnResult approximate_knn(MatrixRefF data, int k, bool exclude_self, const AnnOptions& options) {
  const AnnIndex index(data, options);
  return index.query_self(k, exclude_self);
}

}  // namespace lumaflow
