// analyze's `space` stage: the isometric n-dimensional coordinates of n pixel rows of d = 128²
// (span_coordinates: exact byte Gram matrix + Cholesky), at the sizes analyze meets below
// --raw-max. Random byte rows: the cost does not depend on the content.
#include <benchmark/benchmark.h>

#include <random>

#include "nodes/analysis/pca.hpp"

using namespace lumaflow;

namespace {

RowMatrixF rows(Eigen::Index n) {
  std::mt19937_64 rng(1);
  RowMatrixF x(n, 128 * 128);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng() % 256) / 255.f;
  return x;
}

void BM_GramMatrix(benchmark::State& state) {
  const RowMatrixF x = rows(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(gram_matrix(x).data());
}

void BM_SpanCoordinates(benchmark::State& state) {
  const RowMatrixF x = rows(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(span_coordinates(x).data());
}

}  // namespace

BENCHMARK(BM_GramMatrix)->Arg(400)->Arg(1000)->Arg(4500)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_SpanCoordinates)->Arg(400)->Arg(1000)->Arg(4500)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_MAIN();
