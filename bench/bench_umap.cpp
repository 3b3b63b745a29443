// UMAP fit / transform and approximate-kNN timings on synthetic data shaped like the project's
// inputs: orl-sized (400 × 16384 pixel vectors in [0,1], 40 people × 10 images), its PCA-50
// counterpart, and a 20,000 × 50 set.
#include <benchmark/benchmark.h>

#include <random>

#include "nodes/analysis/ann.hpp"
#include "nodes/analysis/knn.hpp"
#include "nodes/analysis/umap.hpp"

using namespace lumaflow;

namespace {

// n points in `groups` groups: a random [0,1] prototype per group plus per-point noise, clamped
// to [0,1] like luminance.
RowMatrixF clustered(Eigen::Index n, Eigen::Index d, int groups, float noise, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::normal_distribution<float> g(0.0f, noise);
  RowMatrixF proto(groups, d);
  for (Eigen::Index i = 0; i < proto.size(); ++i) proto.data()[i] = u(rng);
  RowMatrixF x(n, d);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < d; ++j) x(i, j) = std::clamp(proto(i % groups, j) + g(rng), 0.0f, 1.0f);
  return x;
}

const RowMatrixF& orl_raw() {
  static const RowMatrixF x = clustered(400, 16384, 40, 0.15f, 1);
  return x;
}
const RowMatrixF& orl_50() {
  static const RowMatrixF x = clustered(400, 50, 40, 0.15f, 2);
  return x;
}
const RowMatrixF& big_50() {
  static const RowMatrixF x = clustered(20000, 50, 200, 0.15f, 3);
  return x;
}

void BM_UmapFit_400x16384(benchmark::State& s) {
  UmapOptions o;
  o.threads = static_cast<int>(s.range(0));
  for (auto _ : s) benchmark::DoNotOptimize(umap_fit(orl_raw(), o));
}
BENCHMARK(BM_UmapFit_400x16384)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

void BM_UmapFit_400x50(benchmark::State& s) {
  UmapOptions o;
  o.threads = static_cast<int>(s.range(0));
  for (auto _ : s) benchmark::DoNotOptimize(umap_fit(orl_50(), o));
}
BENCHMARK(BM_UmapFit_400x50)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

void BM_UmapFit_20000x50(benchmark::State& s) {
  UmapOptions o;
  o.threads = 0;
  for (auto _ : s) benchmark::DoNotOptimize(umap_fit(big_50(), o));
}
BENCHMARK(BM_UmapFit_20000x50)->Unit(benchmark::kMillisecond)->Iterations(1);

// One query point, the on-line classification case.
void transform_one(benchmark::State& s, const RowMatrixF& train, const RowMatrixF& q) {
  UmapOptions o;
  o.threads = 1;
  const UmapModel m = umap_fit(train, o);
  for (auto _ : s) benchmark::DoNotOptimize(umap_transform(m, q));
}
void BM_UmapTransformOne_400x50(benchmark::State& s) { transform_one(s, orl_50(), clustered(1, 50, 40, 0.15f, 2)); }
void BM_UmapTransformOne_400x16384(benchmark::State& s) {
  transform_one(s, orl_raw(), clustered(1, 16384, 40, 0.15f, 1));
}
void BM_UmapTransformOne_20000x50(benchmark::State& s) { transform_one(s, big_50(), clustered(1, 50, 200, 0.15f, 3)); }
BENCHMARK(BM_UmapTransformOne_400x50)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_UmapTransformOne_400x16384)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_UmapTransformOne_20000x50)->Unit(benchmark::kMicrosecond)->Iterations(200);

void BM_ExactKnnSelf_400x16384(benchmark::State& s) {
  for (auto _ : s) benchmark::DoNotOptimize(exact_knn(orl_raw(), 14, true, static_cast<int>(s.range(0))));
}
BENCHMARK(BM_ExactKnnSelf_400x16384)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

void BM_AnnBuildAndSelfQuery_20000x50(benchmark::State& s) {
  for (auto _ : s) benchmark::DoNotOptimize(approximate_knn(big_50(), 14, true));
}
BENCHMARK(BM_AnnBuildAndSelfQuery_20000x50)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_ExactKnnSelf_20000x50(benchmark::State& s) {
  for (auto _ : s) benchmark::DoNotOptimize(exact_knn(big_50(), 14, true, 0));
}
BENCHMARK(BM_ExactKnnSelf_20000x50)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
