// t-SNE speed: the orl faces (400 × 16384, if the data set is present) and synthetic blobs
// (400 × 16384, 5000 × 50). Every timing includes the kNN, affinities and PCA init.
// Reference on this machine: sklearn 1.2 TSNE on orl ≈ 6.0 s.
// Data: $LUMAFLOW_DATA, else ../shared/data or ../../shared/data from the working directory,
// else next to the source tree (derived from the lumaflow CLI path).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>

#include "nodes/analysis/knn.hpp"
#include "nodes/analysis/tsne.hpp"

using namespace lumaflow;
namespace fs = std::filesystem;

namespace {

fs::path data_dir() {
  if (const char* env = std::getenv("LUMAFLOW_DATA")) return env;
  for (const char* rel : {"../shared/data", "../../shared/data", "../../../shared/data"})
    if (fs::exists(fs::path(rel) / "orl")) return rel;
  // LUMAFLOW_CLI is <source>/<build>/lumaflow; the data sits beside the source tree.
  return fs::path(LUMAFLOW_CLI).parent_path().parent_path() / ".." / "shared" / "data";
}

// orl as the prototype read it: grey, resized to 128×128 bilinear, /255; s1..s40, 1..10.
bool load_orl(RowMatrixF& x, Labels& labels) {
  const fs::path root = data_dir() / "orl";
  if (!fs::exists(root / "s1" / "1.pgm")) return false;
  x.resize(400, 128 * 128);
  labels.clear();
  int row = 0;
  for (int s = 1; s <= 40; ++s)
    for (int m = 1; m <= 10; ++m) {
      std::string person = "s", image = std::to_string(m);
      person += std::to_string(s);  // not "s" + …: GCC 12 warns falsely (-Wrestrict, PR105329)
      image += ".pgm";
      const fs::path file = root / person / image;
      const cv::Mat img = cv::imread(file.string(), cv::IMREAD_GRAYSCALE);
      if (img.empty()) return false;
      cv::Mat small;
      cv::resize(img, small, cv::Size(128, 128), 0, 0, cv::INTER_LINEAR);
      for (int i = 0; i < 128 * 128; ++i) x(row, i) = small.data[i] / 255.f;
      labels.push_back(s - 1);
      ++row;
    }
  return true;
}

RowMatrixF blobs(int n, int d, int k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  RowMatrixF x(n, d);
  for (int i = 0; i < n; ++i) {
    for (int c = 0; c < d; ++c) x(i, c) = g(rng);
    x(i, (i % k) % d) += 6.f;
  }
  return x;
}

// sklearn.manifold.trustworthiness with Euclidean input distances.
double trustworthiness(const RowMatrixF& x, const RowMatrixF& y, int k) {
  const Eigen::Index n = x.rows();
  const KnnResult in = exact_knn(x, static_cast<int>(n - 1), true);
  const KnnResult out = exact_knn(y, k, true);
  std::vector<int> rank(static_cast<size_t>(n));
  double penalty = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index r = 0; r < n - 1; ++r) rank[static_cast<size_t>(in.indices(i, r))] = static_cast<int>(r + 1);
    for (int j = 0; j < k; ++j) penalty += std::max(0, rank[static_cast<size_t>(out.indices(i, j))] - k);
  }
  return 1.0 - penalty * 2.0 / (static_cast<double>(n) * k * (2.0 * n - 3.0 * k - 1.0));
}

double one_nn(const RowMatrixF& y, const Labels& labels) {
  const KnnResult nn = exact_knn(y, 1, true);
  int hits = 0;
  for (Eigen::Index i = 0; i < y.rows(); ++i)
    hits += labels[static_cast<size_t>(i)] == labels[static_cast<size_t>(nn.indices(i, 0))];
  return static_cast<double>(hits) / static_cast<double>(y.rows());
}

void BM_TsneOrl(benchmark::State& state) {
  RowMatrixF x;
  Labels labels;
  if (!load_orl(x, labels)) {
    state.SkipWithError("orl data not found (set LUMAFLOW_DATA)");
    return;
  }
  TsneOptions opt;
  opt.threads = static_cast<int>(state.range(0));
  RowMatrixF y;
  for (auto _ : state) {
    y = tsne(x, opt);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["trustworthiness10"] = trustworthiness(x, y, 10);
  state.counters["one_nn_2d"] = one_nn(y, labels);
}
BENCHMARK(BM_TsneOrl)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();

void BM_TsneBlobs(benchmark::State& state) {
  const RowMatrixF x = blobs(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)), 10, 1);
  TsneOptions opt;
  opt.threads = static_cast<int>(state.range(2));
  for (auto _ : state) {
    const RowMatrixF y = tsne(x, opt);
    benchmark::DoNotOptimize(y.data());
  }
}
BENCHMARK(BM_TsneBlobs)
    ->Args({400, 16384, 2})
    ->Args({5000, 50, 1})
    ->Args({5000, 50, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();

// One Barnes-Hut repulsion pass (tree build + all points) on a spread-out 2-D layout.
void BM_BhRepulsion(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::mt19937 rng(3);
  std::normal_distribution<double> g;
  RowMatrixD y(n, 2);
  for (int i = 0; i < n; ++i) y(i, 0) = 20 * g(rng), y(i, 1) = 20 * g(rng);
  for (auto _ : state) benchmark::DoNotOptimize(detail::bh_repulsion(y, 0.5, 1).z);
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_BhRepulsion)->Arg(400)->Arg(5000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
