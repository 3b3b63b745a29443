// LiveState: what `watch --serve` shows, fed with the watch's answer lines (answer.hpp) as they go
// out. Keeps a ring of the last `ring` lines (each with its server-sent event already formatted,
// so an open page costs one copy of a shared string per face, never a JSON build), counters
// (frames, faces, known, unknown, errors, store records), a latency histogram of the lines' "ms",
// per-second rates over the last 10 s and the proposed identities (label "new-K" or its name
// given by relabel) with their latest faces.
// A frame is counted once per run of lines with the same path (the lines of one file are
// consecutive); a frame without a face prints no line and is not counted.
// Thread-safe: add_line() (the watch's sink) and every reader take one mutex for a few copies;
// wait_after() lets an event stream sleep until a line newer than the one it sent arrives.
// A line that is not a JSON object is counted in `bad_lines` and otherwise ignored.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace lumaflow {

// Upper bounds (ms) of the latency histogram's buckets; a last bucket (+Inf) holds the rest.
inline constexpr std::array<double, 12> kLatencyBucketsMs = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000};

struct LiveEvent {
  uint64_t id = 0;   // 1, 2, ... in arrival order
  std::string line;  // the answer line as written
  std::string sse;   // "id: N\ndata: LINE\n\n"
  std::chrono::steady_clock::time_point at;
};

struct LiveStats {
  uint64_t frames = 0, faces = 0, known = 0, unknown = 0, errors = 0, store_records = 0, bad_lines = 0;
  std::array<uint64_t, kLatencyBucketsMs.size() + 1> buckets{};  // per bucket, not cumulative
  double latency_sum_ms = 0;
  uint64_t latency_count = 0;
  double p50_ms = 0, p99_ms = 0;             // of the last `ring` lines with an "ms"
  double frames_per_s = 0, faces_per_s = 0;  // over the last 10 s
};

struct LiveIdentity {
  std::string name;                 // "new-1", or the name relabel gave it
  uint64_t faces = 0;               // faces seen in it during this watch
  std::vector<std::string> recent;  // answer lines of its latest faces (at most 8, newest last)
};

class LiveState {
 public:
  // `counts_store`: every answered face is a store record (watch --store).
  explicit LiveState(size_t ring = 500, bool counts_store = false);

  void add_line(const std::string& line);

  LiveStats stats() const;
  std::vector<std::shared_ptr<const LiveEvent>> recent(size_t max) const;  // oldest first
  // Events with id > after, oldest first (at most `max`); those that fell off the ring are lost.
  std::vector<std::shared_ptr<const LiveEvent>> after(uint64_t after, size_t max = 256) const;
  uint64_t last_id() const;
  // Waits until an event newer than `after` exists, close() is called, or `timeout` passes;
  // true when there is something newer.
  bool wait_after(uint64_t after, std::chrono::milliseconds timeout) const;
  void close();  // wakes every waiter for good (the server stops)
  bool closed() const;
  std::map<std::string, LiveIdentity> identities() const;

  std::string stats_json() const;
  std::string answers_json(size_t max) const;  // {"answers": [line objects, newest last]}
  std::string identities_json() const;
  // Prometheus text exposition format 0.0.4; `streams`: open event streams (a gauge).
  std::string metrics_text(size_t streams) const;

 private:
  const size_t ring_size_;
  const bool counts_store_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool closed_ = false;
  uint64_t next_id_ = 1;
  std::deque<std::shared_ptr<const LiveEvent>> ring_;
  std::deque<double> recent_ms_;                                                // last ring_size_ latencies
  std::deque<std::chrono::steady_clock::time_point> frame_times_, face_times_;  // last 10 s
  std::string last_path_;
  LiveStats stats_;
  std::map<std::string, LiveIdentity> identities_;
};

}  // namespace lumaflow
