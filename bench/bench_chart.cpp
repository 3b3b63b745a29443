// Chart rendering speed at the prototype's scale (400 faces, 40 people) and at 20,000 points.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

#include "nodes/chart/chart.hpp"

using namespace lumaflow;

namespace {

struct Data {
  RowMatrixF xy;
  Labels labels;
  std::vector<std::string> names;
  std::vector<cv::Mat> thumbs;
};

// 40 Gaussian groups on rings, n points in total.
Data make(int n) {
  Data d;
  std::mt19937 rng(42);
  std::normal_distribution<float> g(0.f, 0.7f);
  d.xy.resize(n, 2);
  for (int i = 0; i < n; ++i) {
    const int c = i % 40;
    const double a = 2 * M_PI * c / 40, r = 4 + (c % 3) * 3;
    d.xy(i, 0) = static_cast<float>(r * std::cos(a)) + g(rng);
    d.xy(i, 1) = static_cast<float>(r * std::sin(a)) + g(rng);
    d.labels.push_back(c);
  }
  for (int c = 0; c < 40; ++c) d.names.push_back("person " + std::to_string(c));
  for (int i = 0; i < n; ++i) d.thumbs.emplace_back(112, 92, CV_8UC1, cv::Scalar(40 + i % 200));
  return d;
}

const Data& data(int n) {
  static const Data small = make(400), large = make(20000);
  return n <= 400 ? small : large;
}

MeshPredictor centroid_predictor(const Data& d) {
  RowMatrixF c = RowMatrixF::Zero(40, 2);
  std::vector<float> cnt(40, 0.f);
  for (Eigen::Index i = 0; i < d.xy.rows(); ++i) {
    c.row(d.labels[static_cast<size_t>(i)]) += d.xy.row(i);
    cnt[static_cast<size_t>(d.labels[static_cast<size_t>(i)])] += 1;
  }
  for (int j = 0; j < 40; ++j) c.row(j) /= std::max(1.f, cnt[static_cast<size_t>(j)]);
  return [c](const RowMatrixF& g) {
    std::vector<int> out(static_cast<size_t>(g.rows()));
    for (Eigen::Index i = 0; i < g.rows(); ++i) {
      Eigen::Index best;
      (c.rowwise() - g.row(i)).rowwise().squaredNorm().minCoeff(&best);
      out[static_cast<size_t>(i)] = static_cast<int>(best);
    }
    return out;
  };
}

ChartOptions options() {
  ChartOptions o;
  o.title = "benchmark";
  return o;
}

void BM_Scatter(benchmark::State& st) {
  const Data& d = data(static_cast<int>(st.range(0)));
  for (auto _ : st) benchmark::DoNotOptimize(scatter_chart(d.xy, d.labels, d.names, options()));
}
void BM_Kde(benchmark::State& st) {
  const Data& d = data(static_cast<int>(st.range(0)));
  for (auto _ : st) benchmark::DoNotOptimize(kde_chart(d.xy, d.labels, d.names, options()));
}
void BM_Decision(benchmark::State& st) {
  const Data& d = data(static_cast<int>(st.range(0)));
  const MeshPredictor p = centroid_predictor(d);
  for (auto _ : st) benchmark::DoNotOptimize(decision_chart(d.xy, d.labels, d.names, p, options(), 300));
}
void BM_Atlas(benchmark::State& st) {
  const Data& d = data(static_cast<int>(st.range(0)));
  for (auto _ : st) benchmark::DoNotOptimize(atlas_chart(d.xy, d.thumbs, d.labels, d.names, options()));
}
void BM_Line(benchmark::State& st) {
  std::vector<double> x, ari, k;
  for (int i = 0; i < 50; ++i) {
    x.push_back(0.1 + 0.01 * i);
    ari.push_back(std::sin(i * 0.1));
    k.push_back(50 - i);
  }
  ChartOptions o = options();
  o.vlines = {{0.5, "prototype eps 0.5"}, {0.3, "suggested eps"}};
  for (auto _ : st) benchmark::DoNotOptimize(line_chart(x, {{"ARI", ari}}, {{"clusters", k}}, o, "clusters"));
}
void BM_Palette40(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(palette(40));
}
void BM_WritePng(benchmark::State& st) {
  const Data& d = data(400);
  const cv::Mat img = scatter_chart(d.xy, d.labels, d.names, options());
  const auto path = std::filesystem::temp_directory_path() / "lumaflow_bench_chart.png";
  for (auto _ : st) write_png(path, img);
  std::filesystem::remove(path);
}

}  // namespace

BENCHMARK(BM_Scatter)->Arg(400)->Arg(20000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Kde)->Arg(400)->Arg(20000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Decision)->Arg(400)->Arg(20000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Atlas)->Arg(400)->Arg(20000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Line)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Palette40)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WritePng)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
