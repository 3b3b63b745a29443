// Redis Streams as lumaflow uses them, on a redis-server started here (loopback, no persistence;
// what one Redis instance can carry before the workers' frames/s is bounded by it):
//   BM_Xadd/<bytes>            XADD of one frame entry (Publisher::publish: explicit id, lag check)
//   BM_ReadAck/<bytes>         XREADGROUP COUNT 16 + XACK per batch, per entry (a worker's broker side)
//   BM_FrameRoundTrip/<bytes>  publish -> worker (run_worker, no image work) -> result entry read by a
//                              collector (XREAD BLOCK): the broker's own latency per frame, p50/p99 µs
// Entry sizes: 4 KB (a small face crop) and 200 KB (a full-HD JPEG frame).
// Needs redis-server on PATH; exits with a message otherwise.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <thread>

#include "nodes/broker/publisher.hpp"
#include "nodes/broker/worker.hpp"
#include "nodes/core/checksum.hpp"
#include "tests/redis_server.hpp"

namespace lumaflow {
namespace {

test::RedisServer& server() {
  static test::RedisServer s;
  return s;
}

FrameEntry frame_of(size_t bytes) {
  FrameEntry f;
  f.name = "frame.jpg";
  f.bytes.assign(bytes, 0);
  for (size_t i = 0; i < bytes; ++i) f.bytes[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  f.hash = xxh3_64(f.bytes.data(), f.bytes.size());
  return f;
}

// Publishing that never waits on the group's lag: the benchmarks measure Redis, not backpressure.
PublishOptions unbounded() {
  PublishOptions po;
  po.max_lag = 1LL << 40;
  return po;
}

void BM_Xadd(benchmark::State& st) {
  auto c = server().connect();
  c.command({"FLUSHALL"});
  Publisher pub(c, unbounded());
  const FrameEntry f = frame_of(static_cast<size_t>(st.range(0)));
  size_t n = 0;
  for (auto _ : st) {
    pub.publish(f);
    if (++n % 2000 == 0) {
      st.PauseTiming();
      c.command({"FLUSHALL"});  // keep the server's memory flat
      Publisher again(c, unbounded());
      st.ResumeTiming();
    }
  }
  st.SetItemsProcessed(st.iterations());
  st.SetBytesProcessed(st.iterations() * st.range(0));
}
BENCHMARK(BM_Xadd)->Arg(4 << 10)->Arg(200 << 10)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_ReadAck(benchmark::State& st) {
  auto c = server().connect();
  const FrameEntry f = frame_of(static_cast<size_t>(st.range(0)));
  const int batch = 16;
  for (auto _ : st) {
    st.PauseTiming();
    c.command({"FLUSHALL"});
    ensure_group(c, "frames", "classify");
    std::vector<RedisArgs> adds;
    for (int i = 0; i < batch; ++i) {
      RedisArgs a{"XADD", "frames", "*"};
      append_fields(a, encode_frame(f));
      adds.push_back(std::move(a));
    }
    c.pipeline(adds);
    st.ResumeTiming();
    const auto got = read_stream_reply(
        c.command({"XREADGROUP", "GROUP", "classify", "w", "COUNT", std::to_string(batch), "STREAMS", "frames", ">"}));
    RedisArgs ack{"XACK", "frames", "classify"};
    for (const auto& e : got) ack.push_back(e.id);
    c.command(ack);
    benchmark::DoNotOptimize(got.size());
  }
  st.SetItemsProcessed(st.iterations() * batch);
  st.SetBytesProcessed(st.iterations() * batch * st.range(0));
}
BENCHMARK(BM_ReadAck)->Arg(4 << 10)->Arg(200 << 10)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_FrameRoundTrip(benchmark::State& st) {
  auto c = server().connect();
  c.command({"FLUSHALL"});
  Publisher pub(c, unbounded());
  std::atomic<bool> stop{false};
  std::thread worker([&] {
    auto wc = server().connect();
    WorkerOptions wo;
    wo.batch = 1;
    wo.block = std::chrono::milliseconds(100);
    wo.stop = [&] { return stop.load(); };
    run_worker(wc, wo, [](std::vector<FrameEntry>& fs, std::vector<std::vector<ResultEntry>>& out) {
      for (size_t i = 0; i < fs.size(); ++i) {
        ResultEntry r = error_result(fs[i], "", "w");
        r.status = ResultStatus::noface;
        out[i] = {r};
      }
    });
  });
  auto reader = server().connect();
  const FrameEntry f = frame_of(static_cast<size_t>(st.range(0)));
  std::string last = "0-0";  // the results stream is empty after FLUSHALL
  std::vector<double> us;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    pub.publish(f);
    for (;;) {
      const auto got = read_stream_reply(reader.command({"XREAD", "BLOCK", "1000", "STREAMS", "results", last}));
      if (got.empty()) continue;
      last = got.back().id;
      break;
    }
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  stop = true;
  worker.join();
  std::sort(us.begin(), us.end());
  st.counters["p50_us"] = us[us.size() / 2];
  st.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_FrameRoundTrip)->Arg(4 << 10)->Arg(200 << 10)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace lumaflow

int main(int argc, char** argv) {
  if (lumaflow::test::redis_server_binary().empty()) {
    std::cerr << "bench_broker: redis-server is not installed (apt-get install redis-server)\n";
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
