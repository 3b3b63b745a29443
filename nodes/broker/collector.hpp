// Collector: the stateful end of the broker — results stream -> store + answer lines.
//
// Each round reads up to `batch` result entries after the last id (XREAD, BLOCK `block`), drops
// those already recorded (key: frame id + face index; the store's records are the memory across
// restarts: a record's path is "<frame id>/<name>"), and hands the rest to the Recorder that
// `watch` uses (nodes/model/recorder.hpp): one store segment per round, fsynced, then the answer
// lines — a printed answer is a durable record — and unknown faces join the open-set tracker
// (proposed identities live here, not in the stateless workers). Then the last id read is
// written beside the store (STORE.broker, atomically), so a restart continues after it; a
// crash between the store's fsync and that file means entries are read again and dropped as
// duplicates. Error entries give one error line per frame; frames without a face give none.
// Each answer's "ms" is publish -> answer line (wall clocks of the publisher and the collector).
// When `trim` is set the results stream is trimmed below the last saved id (XTRIM MINID): one
// collector per results stream.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "nodes/broker/connection.hpp"
#include "nodes/model/recorder.hpp"

namespace lumaflow {

struct CollectOptions {
  std::string results = "results";
  std::filesystem::path store;  // required
  AnswerFormat format = AnswerFormat::json;
  int batch = 256;
  std::chrono::milliseconds block{500};
  bool trim = true;
  std::function<bool()> stop;
};

struct CollectSummary {
  size_t entries = 0, duplicates = 0, bad = 0;
  WatchSummary recorded;
};

class Collector {
 public:
  // Opens the store (creating it; refused when it holds other preprocessing) and reads STORE.broker.
  Collector(Connection& c, const FittedModel& model, CollectOptions opt, UnknownTracker* tracker, LineSink emit,
            WarnSink warn = {});
  ~Collector();
  // One round; returns the number of entries read (0 after a BLOCK timeout).
  size_t round();
  // Rounds until `stop`, then finish().
  CollectSummary run();
  // Commits, saves the tracker, closes the store; rethrows a write failure.
  CollectSummary finish();
  const std::string& last_id() const { return last_id_; }

  // STORE.broker
  static std::filesystem::path position_file(const std::filesystem::path& store);

 private:
  void save_position();

  Connection& c_;
  CollectOptions opt_;
  WarnSink warn_;
  std::set<std::pair<std::string, int>> seen_;  // (frame id, face index); -1: a frame-level entry
  std::string last_id_ = "0-0";
  std::unique_ptr<Recorder> recorder_;
  CollectSummary sum_;
  bool failed_ = false;  // the store or the answer stream failed: stop (finish() rethrows)
};

}  // namespace lumaflow
