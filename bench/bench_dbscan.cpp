// Speed of the clustering nodes on face-sized vectors (16384-d): DBSCAN (normalised rows, the
// prototype's setting), PCA fits on both solver paths, and trustworthiness.
#include <benchmark/benchmark.h>

#include <map>
#include <random>

#include "nodes/analysis/dbscan.hpp"
#include "nodes/analysis/metrics.hpp"
#include "nodes/analysis/pca.hpp"

using namespace lumaflow;

namespace {

constexpr int kDim = 16384;

// n points in 40 clusters: each row mixes its cluster's random "face" with per-pixel noise, values
// in [0, 1] like luminance vectors. Cached: generating 5000×16384 values takes a while.
const RowMatrixF& clustered(int n) {
  static std::map<int, RowMatrixF> cache;
  auto it = cache.find(n);
  if (it != cache.end()) return it->second;
  std::mt19937_64 rng(1234);
  std::uniform_real_distribution<float> u;
  RowMatrixF centers(40, kDim);
  for (Eigen::Index i = 0; i < centers.size(); ++i) centers.data()[i] = u(rng);
  RowMatrixF x(n, kDim);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < kDim; ++k) x(i, k) = 0.8f * centers(i % 40, k) + 0.2f * u(rng);
  return cache.emplace(n, std::move(x)).first->second;
}

void BM_Dbscan(benchmark::State& state) {
  const RowMatrixF& x = clustered(static_cast<int>(state.range(0)));
  DbscanOptions opt;
  opt.eps = 0.2f;  // normalised distances: ≈ 0.15 within a cluster, ≈ 0.6 between clusters
  opt.min_pts = 5;
  int clusters = 0;
  for (auto _ : state) {
    const Labels l = dbscan(x, opt);
    clusters = cluster_count(l);
    benchmark::DoNotOptimize(l.data());
  }
  state.counters["clusters"] = clusters;
}
BENCHMARK(BM_Dbscan)->Arg(400)->Arg(2000)->Unit(benchmark::kMillisecond)->Iterations(1);

// The same with no pairs kept: the second distance pass that bounds memory at a large eps.
void BM_DbscanSecondPass(benchmark::State& state) {
  const RowMatrixF& x = clustered(static_cast<int>(state.range(0)));
  DbscanOptions opt;
  opt.eps = 0.2f;
  opt.pair_budget = 0;
  for (auto _ : state) benchmark::DoNotOptimize(dbscan(x, opt).data());
}
BENCHMARK(BM_DbscanSecondPass)->Arg(400)->Arg(2000)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_RadiusSweep10(benchmark::State& state) {
  const RowMatrixF& x = clustered(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    const RadiusNeighborhoods rn(x, 0.3f, true);
    for (int i = 1; i <= 10; ++i) benchmark::DoNotOptimize(rn.dbscan(0.03f * static_cast<float>(i), 5).data());
  }
}
BENCHMARK(BM_RadiusSweep10)->Arg(400)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_PcaFit(benchmark::State& state) {
  const RowMatrixF& x = clustered(static_cast<int>(state.range(0)));
  PcaOptions opt;
  opt.components = static_cast<int>(state.range(1));
  opt.solver = static_cast<PcaSolver>(state.range(2));
  for (auto _ : state) {
    const PcaModel m = fit_pca(x, opt);
    benchmark::DoNotOptimize(m.components.data());
  }
}
// solver: 0 auto, 1 exact (Gram), 2 randomized
BENCHMARK(BM_PcaFit)
    ->Args({400, 50, 0})
    ->Args({400, 50, 2})
    ->Args({2000, 50, 1})
    ->Args({2000, 50, 2})
    ->Args({5000, 100, 0})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

void BM_Trustworthiness(benchmark::State& state) {
  const RowMatrixF& x = clustered(400);
  PcaOptions opt;
  opt.components = 2;
  const RowMatrixF low = fit_pca(x, opt).transform(x);
  double t = 0;
  for (auto _ : state) t = trustworthiness(x, low, 5);
  state.counters["T"] = t;
}
BENCHMARK(BM_Trustworthiness)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
