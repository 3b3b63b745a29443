// Ingest throughput: images/s to 128×128 luminance, graph vs single-threaded loop vs decode only.
//
// Sets: (a) orl's 92×112 PGM faces ($LUMAFLOW_DATA/orl, skipped when absent), (b) 640×480 and
// (c) 1920×1080 JPEG frames drawn by nodes/synth (draw_scene), written once to a temp folder.
// The targets are read off items_per_second: graph / loop ≥ 1.8 and graph / full-size
// loop ≥ 3 on 1920×1080.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "flow/ingest.hpp"
#include "nodes/synth/synth.hpp"

using namespace lumaflow;
namespace fs = std::filesystem;

namespace {

fs::path frames_dir(int w, int h, int count) {
  const fs::path dir = fs::temp_directory_path() / ("lumaflow-bench-" + std::to_string(w) + "x" + std::to_string(h));
  const fs::path done = dir / ".complete";
  if (fs::exists(done)) return dir;
  fs::create_directories(dir / "frames");
  for (int i = 0; i < count; ++i) {
    const cv::Mat img = draw_scene(static_cast<uint64_t>(i + 1), w, h, 3);
    char name[32];  // (snprintf: GCC 12 warns falsely on "literal" + std::to_string, -Wrestrict)
    std::snprintf(name, sizeof name, "f%d.jpg", i);
    cv::imwrite((dir / "frames" / name).string(), img, {cv::IMWRITE_JPEG_QUALITY, 90});
  }
  std::ofstream(done) << "ok";
  return dir;
}

fs::path orl_dir() {
  const char* env = std::getenv("LUMAFLOW_DATA");
  for (fs::path p :
       {env ? fs::path(env) / "orl" : fs::path(), fs::path("../shared/data/orl"), fs::path("../../shared/data/orl")})
    if (!p.empty() && fs::is_directory(p)) return p;
  return {};
}

fs::path set_for(int which) {
  if (which == 0) return orl_dir();
  if (which == 1) return frames_dir(640, 480, 200);
  return frames_dir(1920, 1080, 60);
}

const char* set_name(int which) { return which == 0 ? "orl_pgm" : which == 1 ? "jpeg_640x480" : "jpeg_1920x1080"; }

void graph(benchmark::State& state) {
  const fs::path dir = set_for(static_cast<int>(state.range(0)));
  if (dir.empty()) return state.SkipWithError("data set not found (LUMAFLOW_DATA)");
  const ScanResult scan = scan_directory(dir);
  IngestOptions o;
  o.threads = static_cast<int>(state.range(1));
  size_t n = 0;
  for (auto _ : state) run_ingest(scan.entries, o, nullptr, [&](FrameResult&& r) { n += r.ok(); });
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.SetLabel(std::string(set_name(static_cast<int>(state.range(0)))) + " graph, " + std::to_string(o.threads) +
                 " threads");
}

void loop(benchmark::State& state) {
  const fs::path dir = set_for(static_cast<int>(state.range(0)));
  if (dir.empty()) return state.SkipWithError("data set not found (LUMAFLOW_DATA)");
  const ScanResult scan = scan_directory(dir);
  EmbedOptions o;
  o.reduced_jpeg = state.range(1) != 0;
  size_t n = 0;
  for (auto _ : state)
    for (size_t i = 0; i < scan.entries.size(); ++i) n += process_frame(i, scan.entries[i], o).ok();
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.SetLabel(std::string(set_name(static_cast<int>(state.range(0)))) + " single-threaded loop" +
                 (o.reduced_jpeg ? "" : ", full-size JPEG decode"));
}

void decode_only(benchmark::State& state) {
  const fs::path dir = set_for(static_cast<int>(state.range(0)));
  if (dir.empty()) return state.SkipWithError("data set not found (LUMAFLOW_DATA)");
  const ScanResult scan = scan_directory(dir);
  std::vector<std::vector<uint8_t>> files;
  for (const auto& e : scan.entries) files.push_back(read_bytes(e.path, 1ull << 30));
  DecodeOptions d;
  d.reduced_jpeg = state.range(1) != 0;
  size_t n = 0;
  for (auto _ : state)
    for (const auto& f : files) n += !decode_image(f, d).image.empty();
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.SetLabel(std::string(set_name(static_cast<int>(state.range(0)))) + " decode only (bytes in memory)" +
                 (d.reduced_jpeg ? ", reduced" : ", full size"));
}

}  // namespace

BENCHMARK(graph)->ArgsProduct({{0, 1, 2}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(loop)->ArgsProduct({{0, 1, 2}, {1, 0}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(decode_only)->ArgsProduct({{0, 1, 2}, {1, 0}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
