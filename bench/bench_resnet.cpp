// Face descriptor throughput: FaceDescriptorNet::describe on 150×150 RGB chips, faces/s on 1
// and 2 cores. threads:N = describe(chips, N) (N workers, each with its own engine of the one
// loaded net) with OpenCV's own thread pool also set to N, so threads:1 is one core in all.
// Chips: the generated colour faces of tests/fixtures/resnet_inputs, 16 per iteration.
// Needs the weights (tools/setup.sh models).
#include <benchmark/benchmark.h>

#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "nodes/learned/resnet.hpp"

namespace {

constexpr int kBatch = 16;

std::vector<cv::Mat> chips() {
  std::vector<cv::Mat> v;
  const char* names[] = {"face_a", "face_b", "face_c", "face_d", "face_e", "pattern"};
  for (int i = 0; i < kBatch; ++i) {
    const std::string p = std::string(LUMAFLOW_SOURCE_DIR "/tests/fixtures/resnet_inputs/") + names[i % 6] + ".png";
    cv::Mat bgr = cv::imread(p), rgb;
    if (bgr.empty()) throw std::runtime_error("cannot read " + p);
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    v.push_back(rgb);
  }
  return v;
}

void resnet_describe(benchmark::State& state) {
  std::unique_ptr<lumaflow::FaceDescriptorNet> net;
  try {
    net =
        std::make_unique<lumaflow::FaceDescriptorNet>(lumaflow::FaceDescriptorNet::load(lumaflow::locate_models_dir()));
  } catch (const lumaflow::ModelsNotFound& e) {
    state.SkipWithError(e.what());
    for (auto _ : state) {
    }
    return;
  }
  const auto batch = chips();
  const int threads = static_cast<int>(state.range(0));
  const int saved = cv::getNumThreads();
  cv::setNumThreads(threads);
  net->describe(batch, threads);  // builds the second engine
  for (auto _ : state) benchmark::DoNotOptimize(net->describe(batch, threads));
  cv::setNumThreads(saved);
  state.counters["faces/s"] = benchmark::Counter(double(state.iterations()) * kBatch, benchmark::Counter::kIsRate);
  state.counters["s/face"] = benchmark::Counter(double(state.iterations()) * kBatch,
                                                benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

}  // namespace

BENCHMARK(resnet_describe)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
