// Watch latency, end to end through the real binary: a writer renames N finished files into a
// watched folder at a steady rate; latency = time from the rename to the file's answer line
// arriving on the watch's stdout pipe (the line is flushed per face). Reports p50/p99/max in ms
// and the load average (this 2-core machine is shared).
//
//   build/bench/bench_watch [--benchmark_filter=...]
//   env: LUMAFLOW_BENCH_WATCH_FILES (default 200), LUMAFLOW_BENCH_WATCH_RATE (files/s, 20),
//        LUMAFLOW_BENCH_WATCH_SIZE (model side N, 128), LUMAFLOW_BENCH_WATCH_THREADS (2),
//        LUMAFLOW_BENCH_WATCH_STORE (1: watch --store, every answer line then waits for its
//        record's fsync; 0: no store), LUMAFLOW_BENCH_WATCH_CLI (another lumaflow binary, e.g. an
//        older build for a before/after figure)
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <thread>

#include "nodes/image/embed.hpp"
#include "nodes/model/model.hpp"
#include "nodes/synth/synth.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace lumaflow;

// "prefix<i>ext", built by appending (GCC 12 warns, falsely, on "lit" + std::to_string(i)).
std::string numbered(const char* prefix, long i, const char* ext) {
  std::string s(prefix);
  s += std::to_string(i);
  s += ext;
  return s;
}

int env_int(const char* name, int def) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : def;
}

std::vector<uint8_t> face_bytes(int person, int image, const char* ext) {
  std::vector<uint8_t> b;
  cv::imencode(ext, draw_face(make_identity(3, person), make_variation(3, person, image, 0.5), 160), b);
  return b;
}

void write_file(const fs::path& p, const std::vector<uint8_t>& b) {
  std::ofstream(p, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

fs::path fit_bench_model(const fs::path& dir, int size) {
  EmbedOptions e;
  e.size = size;
  const int people = 8, per = 10;
  RowMatrixF x(people * per, size * size);
  Labels y;
  for (int p = 0; p < people; ++p)
    for (int i = 0; i < per; ++i) {
      const FrameResult r = process_bytes(face_bytes(p, i, ".png"), "f.png", e);
      const auto row = static_cast<Eigen::Index>(y.size());
      for (Eigen::Index c = 0; c < x.cols(); ++c) x(row, c) = r.faces.at(0).pixels[static_cast<size_t>(c)] / 255.0f;
      y.push_back(p);
    }
  ModelOptions mo;
  mo.pca_components = 50;
  FittedModel m = fit_model(x, y, mo);
  m.prep = e.preprocessing();
  m.labels.clear();
  for (int p = 0; p < people; ++p) m.labels.push_back(numbered("person", p, ""));
  const fs::path path = dir / "bench.model";
  save_model(path, m);
  return path;
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

void BM_WatchLatency(benchmark::State& state) {
  const int files = env_int("LUMAFLOW_BENCH_WATCH_FILES", 200);
  const int rate = env_int("LUMAFLOW_BENCH_WATCH_RATE", 20);
  const int size = env_int("LUMAFLOW_BENCH_WATCH_SIZE", 128);
  const std::string threads = std::to_string(env_int("LUMAFLOW_BENCH_WATCH_THREADS", 2));
  const bool with_store = env_int("LUMAFLOW_BENCH_WATCH_STORE", 1) != 0;
  const char* cli_env = std::getenv("LUMAFLOW_BENCH_WATCH_CLI");
  const std::string cli = cli_env && *cli_env ? cli_env : LUMAFLOW_CLI;
  const fs::path root = fs::temp_directory_path() / (numbered("lumaflow-bench-watch-", ::getpid(), ""));
  const fs::path in = root / "in", staging = root / "staging";
  fs::create_directories(in);
  fs::create_directories(staging);
  const fs::path model = fit_bench_model(root, size);
  // Pre-encoded files in a staging folder on the same file system: the rename is the arrival.
  for (int i = 0; i < files; ++i)
    write_file(staging / (numbered("f", i, (i % 2 ? ".jpg" : ".png"))),
               face_bytes(i % 10, 100 + i, i % 2 ? ".jpg" : ".png"));

  for (auto _ : state) {
    int out[2], err[2];
    if (::pipe(out) != 0 || ::pipe(err) != 0) {
      state.SkipWithError("pipe");
      return;
    }
    const std::string store = (root / "watch.store").string();
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      ::close(out[0]);
      ::close(err[0]);
      if (with_store)
        ::execl(cli.c_str(), cli.c_str(), "watch", model.c_str(), in.c_str(), "--threads", threads.c_str(), "--store",
                store.c_str(), static_cast<char*>(nullptr));
      else
        ::execl(cli.c_str(), cli.c_str(), "watch", model.c_str(), in.c_str(), "--threads", threads.c_str(),
                static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    // Wait for "watching" on stderr.
    std::string errtext;
    char buf[8192];
    while (errtext.find("watching") == std::string::npos) {
      const ssize_t n = ::read(err[0], buf, sizeof buf);
      if (n <= 0) {
        state.SkipWithError(("watch did not start: " + errtext).c_str());
        return;
      }
      errtext.append(buf, static_cast<size_t>(n));
    }
    std::vector<Clock::time_point> sent(static_cast<size_t>(files)), got(static_cast<size_t>(files));
    std::thread writer([&] {
      const auto start = Clock::now() + std::chrono::milliseconds(100);
      for (int i = 0; i < files; ++i) {
        std::this_thread::sleep_until(start + std::chrono::microseconds(1000000LL * i / rate));
        const std::string name = numbered("f", i, (i % 2 ? ".jpg" : ".png"));
        sent[static_cast<size_t>(i)] = Clock::now();
        fs::rename(staging / name, in / name);
      }
    });
    std::string partial;
    int lines = 0, errors = 0;
    while (lines < files) {
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, 20000) <= 0) break;
      const ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      const auto now = Clock::now();
      partial.append(buf, static_cast<size_t>(n));
      for (size_t nl; (nl = partial.find('\n')) != std::string::npos;) {
        const auto j = nlohmann::json::parse(partial.substr(0, nl));
        partial.erase(0, nl + 1);
        const std::string name = fs::path(j["path"].get<std::string>()).filename().string();
        const int idx = std::atoi(name.c_str() + 1);
        if (j["status"] == "error") ++errors;
        if (idx >= 0 && idx < files) got[static_cast<size_t>(idx)] = now;
        ++lines;
      }
    }
    writer.join();
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(out[0]);
    ::close(err[0]);
    for (int i = 0; i < files; ++i) {
      const std::string name = numbered("f", i, (i % 2 ? ".jpg" : ".png"));
      fs::rename(in / name, staging / name);
    }
    std::vector<double> ms;
    for (int i = 0; i < files; ++i)
      if (got[static_cast<size_t>(i)] != Clock::time_point{})
        ms.push_back(
            std::chrono::duration<double, std::milli>(got[static_cast<size_t>(i)] - sent[static_cast<size_t>(i)])
                .count());
    if (ms.empty()) {
      state.SkipWithError("no answers");
      return;
    }
    double load[3] = {0, 0, 0};
    if (FILE* f = std::fopen("/proc/loadavg", "r")) {
      if (std::fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
      std::fclose(f);
    }
    state.counters["files"] = static_cast<double>(files);
    state.counters["answered"] = static_cast<double>(ms.size());
    state.counters["errors"] = errors;
    state.counters["p50_ms"] = percentile(ms, 0.5);
    state.counters["p90_ms"] = percentile(ms, 0.9);
    state.counters["p99_ms"] = percentile(ms, 0.99);
    state.counters["max_ms"] = *std::max_element(ms.begin(), ms.end());
    state.counters["load1"] = load[0];
    state.counters["exit"] = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::printf(
        "watch latency%s: %zu/%d files at %d/s, N=%d, threads %s: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms; "
        "load average %.2f %.2f %.2f\n",
        with_store ? " (--store, durable before printed)" : "", ms.size(), files, rate, size, threads.c_str(),
        percentile(ms, 0.5), percentile(ms, 0.9), percentile(ms, 0.99), *std::max_element(ms.begin(), ms.end()),
        load[0], load[1], load[2]);
  }
  std::error_code ec;
  fs::remove_all(root, ec);
}
BENCHMARK(BM_WatchLatency)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
