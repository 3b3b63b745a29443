// Where a TV frame's time goes in the learned (resnet) frame path that `watch` runs per file:
// BM_FrameStage/stage:N over the real frames of $LUMAFLOW_DATA/tvshow-frames (5 frames, 2–6
// faces each), one iteration = every frame once; "s/frame" is the mean wall time per frame (m = ms).
// each:0 runs a frame on one thread; each:1 spreads it over a 2-thread task arena with
// tbb_for_each (what `watch` does: detection pieces, then the faces).
//   0 decode     JPEG bytes -> BGR (decode_stage)
//   1 detect     luminance + dlib HOG detection of every face (FaceDetector::detect)
//   2 landmarks  68 landmarks + the 150×150 dlib chip of every detected face
//   3 describe   the ResNet descriptor of every chip (FaceDescriptorNet::describe)
//   4 frame      the whole chain: read (hash) -> decode -> faces_stage -> describe_stage
// Needs the weights (tools/setup.sh models) and the data; skips with a message otherwise.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <oneapi/tbb/task_arena.h>

#include "flow/frames.hpp"
#include "nodes/image/align.hpp"
#include "nodes/image/chip.hpp"
#include "nodes/image/detect.hpp"
#include "nodes/image/embed.hpp"
#include "nodes/image/faces.hpp"
#include "nodes/image/luminance.hpp"
#include "nodes/learned/resnet.hpp"

using namespace lumaflow;
namespace fs = std::filesystem;

namespace {

struct Frame {
  std::string name;
  std::vector<uint8_t> bytes;
  cv::Mat bgr, gray;
  std::vector<Detection> faces;
  std::vector<cv::Mat> chips;
};

struct Setup {
  std::string error;
  EmbedOptions opt;
  std::unique_ptr<FaceTools> tools;
  std::unique_ptr<FaceDetector> detector;
  std::unique_ptr<FaceAligner> aligner;
  std::vector<Frame> frames;
};

const Setup& setup() {
  static const Setup s = [] {
    Setup r;
    const char* env = std::getenv("LUMAFLOW_DATA");
    const fs::path dir = fs::path(env ? env : "../shared/data") / "tvshow-frames";
    if (!fs::is_directory(dir)) {
      r.error = "no " + dir.string() + " (set LUMAFLOW_DATA)";
      return r;
    }
    r.opt.embedding = Embedding::resnet;
    r.opt.faces = FaceMode::align;
    try {
      r.tools = std::make_unique<FaceTools>(r.opt, "");
    } catch (const ModelsNotFound& e) {
      r.error = e.what();
      return r;
    }
    r.detector = std::make_unique<FaceDetector>();
    r.aligner = std::make_unique<FaceAligner>();
    std::vector<fs::path> paths;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".jpg") paths.push_back(e.path());
    std::sort(paths.begin(), paths.end());
    for (const auto& p : paths) {
      Frame f;
      f.name = p.filename().string();
      std::ifstream in(p, std::ios::binary);
      f.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      f.bgr = decode_image(f.bytes, r.opt.decode_options()).image;
      f.gray = to_luminance(f.bgr);
      f.faces = r.detector->detect(f.gray);
      for (const auto& d : f.faces) f.chips.push_back(extract_face_chip(f.bgr, r.aligner->landmarks(f.gray, d.box)));
      r.frames.push_back(std::move(f));
    }
    return r;
  }();
  return s;
}

void BM_FrameStage(benchmark::State& state) {
  const Setup& s = setup();
  if (!s.error.empty()) {
    state.SkipWithError(s.error.c_str());
    for (auto _ : state) {
    }
    return;
  }
  const int stage = static_cast<int>(state.range(0));
  const ForEach each = state.range(1) ? tbb_for_each() : ForEach{};
  size_t faces = 0;
  for (const auto& f : s.frames) faces += f.faces.size();
  const auto one_frame = [&](const Frame& f) {
    switch (stage) {
      case 0: benchmark::DoNotOptimize(decode_image(f.bytes, s.opt.decode_options()).image.data); break;
      case 1: benchmark::DoNotOptimize(s.detector->detect(to_luminance(f.bgr), each)); break;
      case 2:
        for_each(each, static_cast<std::ptrdiff_t>(f.faces.size()), [&](std::ptrdiff_t i) {
          const cv::Rect& box = f.faces[static_cast<size_t>(i)].box;
          benchmark::DoNotOptimize(extract_face_chip(f.bgr, s.aligner->landmarks(f.gray, box)).data);
        });
        break;
      case 3:
        for_each(each, static_cast<std::ptrdiff_t>(f.chips.size()), [&](std::ptrdiff_t i) {
          benchmark::DoNotOptimize(s.tools->net()->describe(f.chips[static_cast<size_t>(i)]));
        });
        break;
      default: {
        FrameWork w;
        w.bytes = f.bytes;
        w.preloaded = true;
        w.result.entry.rel = w.result.entry.path = f.name;
        for (auto fn :
             {+[](FrameWork&x, const EmbedOptions&o, const FaceTools*, const ForEach&) { read_stage(x, o); },
              +[](FrameWork&x, const EmbedOptions&o, const FaceTools*, const ForEach&) { decode_stage(x, o); },
              +[](FrameWork&x, const EmbedOptions&o, const FaceTools*t, const ForEach&e) { faces_stage(x, o, t, e); },
              +[](FrameWork&x, const EmbedOptions&o, const FaceTools*t, const ForEach&e) {
                describe_stage(x, o, t, e);
              }})
          run_stage(w, [&](FrameWork& x) { fn(x, s.opt, s.tools.get(), each); });
        benchmark::DoNotOptimize(w.result.faces.size());
      }
    }
  };
  oneapi::tbb::task_arena arena(2);
  for (auto _ : state)
    arena.execute([&] {
      for (const Frame& f : s.frames) one_frame(f);
    });
  const double n = static_cast<double>(s.frames.size());
  state.counters["s/frame"] =
      benchmark::Counter(double(state.iterations()) * n, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["faces/frame"] = static_cast<double>(faces) / n;
}

}  // namespace

BENCHMARK(BM_FrameStage)
    ->ArgNames({"stage", "each"})
    ->Args({0, 0})
    ->ArgsProduct({{1, 2, 3, 4}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_MAIN();
