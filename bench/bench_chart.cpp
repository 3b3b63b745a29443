// Chart rendering speed at the prototype's scale (400 faces, 40 people) and at 20,000 points.
// `bench_chart --samples DIR` instead writes one chart of each kind into DIR, for eyeballing.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include "nodes/chart/chart.hpp"

using namespace lumaflow;

namespace {

struct Data {
  RowMatrixF xy;
  Labels labels;
  std::vector<std::string> names;
  std::vector<cv::Mat> thumbs;
};

// k Gaussian groups on rings, n points in total.
Data make(int n, int k = 40) {
  Data d;
  std::mt19937 rng(42);
  std::normal_distribution<float> g(0.f, 0.7f);
  d.xy.resize(n, 2);
  for (int i = 0; i < n; ++i) {
    const int c = i % k;
    const double a = 2 * M_PI * c / k, r = 4 + (c % 3) * 3;
    d.xy(i, 0) = static_cast<float>(r * std::cos(a)) + g(rng);
    d.xy(i, 1) = static_cast<float>(r * std::sin(a)) + g(rng);
    d.labels.push_back(c);
  }
  for (int c = 0; c < k; ++c) d.names.push_back("person " + std::to_string(c));
  for (int i = 0; i < n; ++i) d.thumbs.emplace_back(112, 92, CV_8UC1, cv::Scalar(40 + i % 200));
  return d;
}

const Data& data(int n) {
  static const Data small = make(400), large = make(20000);
  return n <= 400 ? small : large;
}

MeshPredictor centroid_predictor(const Data& d) {
  const int k = static_cast<int>(d.names.size());
  RowMatrixF c = RowMatrixF::Zero(k, 2);
  std::vector<float> cnt(static_cast<size_t>(k), 0.f);
  for (Eigen::Index i = 0; i < d.xy.rows(); ++i) {
    c.row(d.labels[static_cast<size_t>(i)]) += d.xy.row(i);
    cnt[static_cast<size_t>(d.labels[static_cast<size_t>(i)])] += 1;
  }
  for (int j = 0; j < k; ++j) c.row(j) /= std::max(1.f, cnt[static_cast<size_t>(j)]);
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

// One chart of each kind, with the hard cases: a long and an accented name, 3 and 100 people,
// a line chart with a gap and a second axis, a small canvas, no points at all.
void write_samples(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  Data d40 = make(400);
  d40.names[7] = "Bartholomew Featherstonehaugh-Smythe the Third";
  d40.names[12] = "Jos\xc3\xa9 M\xc3\xbcller";
  const Data d3 = make(180, 3), d100 = make(300, 100);
  ChartOptions o;
  o.title = "UMAP of 400 faces (40 people)";
  write_png(dir / "scatter40.png", scatter_chart(d40.xy, d40.labels, d40.names, o));
  o.title = "t-SNE, 3 people";
  write_png(dir / "scatter3.png", scatter_chart(d3.xy, d3.labels, d3.names, o));
  o.title = "100 people";
  write_png(dir / "scatter100.png", scatter_chart(d100.xy, d100.labels, d100.names, o));
  o.title = "UMAP with per-person KDE";
  write_png(dir / "kde40.png", kde_chart(d40.xy, d40.labels, d40.names, o));
  write_png(dir / "kde3.png", kde_chart(d3.xy, d3.labels, d3.names, o));
  o.title = "Nearest-centroid regions";
  write_png(dir / "decision40.png", decision_chart(d40.xy, d40.labels, d40.names, centroid_predictor(d40), o));
  write_png(dir / "decision3.png", decision_chart(d3.xy, d3.labels, d3.names, centroid_predictor(d3), o));
  o.title = "Face atlas";
  write_png(dir / "atlas40.png", atlas_chart(d40.xy, d40.thumbs, d40.labels, d40.names, o));
  ChartOptions lo;
  lo.title = "DBSCAN: ARI and clusters against eps";
  lo.x_label = "eps";
  lo.y_label = "adjusted Rand index";
  lo.vlines = {{0.5, "prototype eps 0.5"}, {0.32, "suggested eps"}};
  std::vector<double> eps, ari, clusters, noise;
  for (int i = 0; i <= 30; ++i) {
    const double e = 0.1 + 0.015 * i;
    eps.push_back(e);
    ari.push_back(std::max(0.0, std::exp(-std::pow((e - 0.32) / 0.08, 2)) * 0.8));
    clusters.push_back(std::round(45 * std::exp(-std::pow(e / 0.3, 3))) + 1);
    noise.push_back(i == 5 ? NAN : std::exp(-e * 6));
  }
  write_png(dir / "line.png", line_chart(eps, {{"ARI", ari}, {"noise fraction", noise}}, {{"clusters", clusters}}, lo,
                                         "number of clusters"));
  ChartOptions so = o;
  so.width = 640, so.height = 480;
  so.title = "small 640x480, 40 people";
  write_png(dir / "small40.png", scatter_chart(d40.xy, d40.labels, d40.names, so));
  o.title = "empty";
  write_png(dir / "empty.png", scatter_chart(RowMatrixF(0, 2), {}, {}, o));
}

}  // namespace

BENCHMARK(BM_Scatter)->Arg(400)->Arg(20000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Kde)->Arg(400)->Arg(20000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Decision)->Arg(400)->Arg(20000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Atlas)->Arg(400)->Arg(20000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Line)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Palette40)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WritePng)->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--samples") {
    try {
      write_samples(argv[2]);
      std::printf("sample charts in %s\n", argv[2]);
      return 0;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_chart: %s\n", e.what());
      return 1;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
