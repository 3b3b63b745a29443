// RBF SVM speed: fit and predict on 400 × 16384 (40 classes of 10 synthetic faces at 128²,
// the size of orl) and on 400 × 2 (40 blobs, the size of a 2-D embedding), plus one-row latency.
#include <benchmark/benchmark.h>

#include <opencv2/imgproc.hpp>
#include <random>

#include "nodes/analysis/svm.hpp"
#include "nodes/synth/synth.hpp"

using namespace lumaflow;

namespace {

struct Data {
  RowMatrixF x;
  Labels y;
};

const Data& faces() {
  static const Data d = [] {
    Data out;
    out.x.resize(400, 128 * 128);
    for (int i = 0; i < 40; ++i) {
      const auto id = make_identity(42, i);
      for (int j = 0; j < 10; ++j) {
        cv::Mat gray, f;
        cv::cvtColor(draw_face(id, make_variation(42, i, j), 128), gray, cv::COLOR_BGR2GRAY);
        gray.convertTo(f, CV_32F, 1.0 / 255);
        std::copy(f.ptr<float>(), f.ptr<float>() + f.total(), out.x.row(i * 10 + j).data());
        out.y.push_back(i);
      }
    }
    return out;
  }();
  return d;
}

const Data& blobs2d() {
  static const Data d = [] {
    Data out;
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<float> centre(-10.f, 10.f);
    std::normal_distribution<float> g(0.f, 0.8f);
    out.x.resize(400, 2);
    for (int c = 0; c < 40; ++c) {
      const float cx = centre(rng), cy = centre(rng);
      for (int j = 0; j < 10; ++j) {
        out.x.row(c * 10 + j) << cx + g(rng), cy + g(rng);
        out.y.push_back(c);
      }
    }
    return out;
  }();
  return d;
}

const Data& data_for(int64_t dims) { return dims == 2 ? blobs2d() : faces(); }

void BM_Fit(benchmark::State& state) {
  const Data& d = data_for(state.range(0));
  SvmClassifier svm;
  for (auto _ : state) {
    svm.fit(d.x, d.y);
    benchmark::DoNotOptimize(svm.support_vector_count());
  }
  state.counters["support_vectors"] = svm.support_vector_count();
}
BENCHMARK(BM_Fit)->Arg(16384)->Arg(2)->Unit(benchmark::kMillisecond);

void BM_PredictBatch(benchmark::State& state) {
  const Data& d = data_for(state.range(0));
  SvmClassifier svm;
  svm.fit(d.x, d.y);
  const int threads = static_cast<int>(state.range(1));
  double correct = 0;
  for (auto _ : state) {
    const auto p = svm.predict(d.x, threads);
    correct = 0;
    for (size_t i = 0; i < p.size(); ++i) correct += p[i].label == d.y[i];
  }
  state.counters["rows_per_s"] = benchmark::Counter(
      static_cast<double>(d.x.rows()) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["train_acc"] = correct / static_cast<double>(d.x.rows());
}
// Real time: with threads = 2 the main thread's CPU time would miss the worker.
BENCHMARK(BM_PredictBatch)
    ->Args({16384, 1})
    ->Args({16384, 2})
    ->Args({2, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_PredictOne(benchmark::State& state) {
  const Data& d = data_for(state.range(0));
  SvmClassifier svm;
  svm.fit(d.x, d.y);
  Eigen::Index row = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(svm.predict_one(d.x.row(row).data(), static_cast<int>(d.x.cols())));
    row = (row + 37) % d.x.rows();
  }
}
BENCHMARK(BM_PredictOne)->Arg(16384)->Arg(2)->Unit(benchmark::kMicrosecond);

void BM_Serialize(benchmark::State& state) {
  SvmClassifier svm;
  svm.fit(faces().x, faces().y);
  for (auto _ : state) {
    const std::string blob = svm.serialize();
    benchmark::DoNotOptimize(SvmClassifier::deserialize(blob).dims());
  }
}
BENCHMARK(BM_Serialize)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
