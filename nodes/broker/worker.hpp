// Worker loop: the stream side of `lumaflow worker` (the frame chain itself is a callback, wired
// by flow/broker_worker; nothing here knows about TBB or images).
//
// Each round: take up to `batch` frames — this consumer's own pending entries after (re)connect
// (XREADGROUP ... 0), else entries idle for `claim_idle` in another consumer's pending list
// (XAUTOCLAIM; 7.0 reply [cursor, entries, deleted ids]), else new ones (XREADGROUP ... >, BLOCK
// `block`) — process them, then in one MULTI/EXEC: XADD every result entry and XACK the frames.
// A frame is acknowledged only with its results, so a worker killed at any moment leaves its
// frames pending for the others; results may then be written twice (the collector keeps one per
// frame id and face index).
// Never stuck: an entry that cannot be decoded, whose bytes do not match their hash, or whose
// delivery count (XPENDING) has passed `max_deliveries` (it killed that many workers) gets an
// error result entry and is acknowledged like any other.
// Stop: `stop` is checked between rounds; the round in progress finishes (its results written
// and acknowledged) and run_worker returns.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "nodes/broker/codec.hpp"
#include "nodes/broker/connection.hpp"

namespace lumaflow {

struct WorkerOptions {
  std::string stream = "frames", group = "classify", results = "results", consumer = "worker";
  int batch = 8;
  std::chrono::milliseconds block{500};
  std::chrono::milliseconds claim_idle{5000};
  int max_deliveries = 3;
  std::function<bool()> stop;
};

struct WorkerSummary {
  size_t frames = 0, results = 0, errors = 0, claimed = 0;
};

// Fills out[i] with the result entries of frames[i] (results_of / error_result).
using ProcessFrames = std::function<void(std::vector<FrameEntry>& frames, std::vector<std::vector<ResultEntry>>& out)>;

WorkerSummary run_worker(Connection& c, const WorkerOptions& opt, const ProcessFrames& process);

// The model every worker of a stream must share: the first sets `key` to `hash`; a different
// hash already there throws BrokerError (one line: both hashes and who set the first).
void claim_model(Connection& c, const std::string& key, const std::string& hash, const std::string& who);

// The key claim_model uses for a frames stream and group.
std::string model_key(const std::string& stream, const std::string& group);

}  // namespace lumaflow
