// Publisher: one XADD per frame to the frames stream, with backpressure and safe trimming.
//
// Ids: the publisher chooses each entry id itself (ms-seq, above the stream's last id), so a
// command sent again after a lost connection cannot add the frame twice: Redis refuses an id it
// already has, and the publisher then checks that the entry with that id is there (XRANGE).
// Backpressure, not loss: before each XADD, when the consumer group's unread count (XINFO GROUPS
// lag) has reached `max_lag`, publish() waits (polling every `poll`), calls `waiting` once per
// wait with the count, and trims the stream below the oldest entry still needed (trim_acked,
// XTRIM MINID). The group is created (at id 0) when the publisher starts, so frames published
// before any worker runs are kept for it.
// Size: a frame over `max_bytes` goes as a path when `shared_dir` holds it (the worker reads it
// there), else publish() throws FrameTooLarge naming the file and both sizes.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include "nodes/broker/codec.hpp"
#include "nodes/broker/connection.hpp"
#include "nodes/broker/streams.hpp"

namespace lumaflow {

struct FrameTooLarge : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct PublishOptions {
  std::string stream = "frames", group = "classify";
  uint64_t max_bytes = 4u << 20;     // inline limit
  std::filesystem::path shared_dir;  // empty: larger frames are refused
  long long max_lag = 1000;          // unread frames before publish waits
  std::chrono::milliseconds poll{100};
  std::function<bool()> stop;  // true: stop waiting (BrokerStopped)
  std::function<void(long long unread)> waiting;
};

class Publisher {
 public:
  Publisher(Connection& c, PublishOptions opt);
  // Publishes the file (name = as shown to the workers); returns its entry id.
  std::string publish(const std::filesystem::path& file, const std::string& name);
  // Publishes bytes already read (tests, benchmarks).
  std::string publish(FrameEntry frame);
  long long trim() { return trim_acked(c_, opt_.stream); }

 private:
  void wait_for_room();
  std::string next_id();

  Connection& c_;
  PublishOptions opt_;
  unsigned long long last_ms_ = 0, last_seq_ = 0;
  long long unread_ = 0;  // last known; refreshed when it may have reached max_lag
  size_t since_check_ = 0;
};

int64_t unix_ms_now();

}  // namespace lumaflow
