// Watch graph: files arriving in a watched folder -> one classified answer line per face, as they
// arrive, and (optionally) their records appended to a store.
//
//   watcher thread (FolderWatcher::next, numbered) --try_put--> async_node gateway
//     -> read -> decode -> faces -> classify      (parallel, `threads` workers)
//     -> sequencer (by arrival number) -> sink (serial: answer line, store, open set)
//     -> finish (parallel: annotated PNG; frees the in-flight slot)
//
// The inotify loop blocks on its own std::thread, never on a TBB worker: it hands each event to
// the graph through the async_node's gateway (gateway.reserve_wait() keeps wait_for_all()
// running while the thread lives; release_wait() when the watcher stops). At most
// `max_in_flight` files are in the graph: the watcher thread waits for a free slot (a counting
// semaphore released by the last node) before putting, so the graph never has to drop or buffer
// without bound. Every event — a bad file, a watch error — travels to the sink exactly once, so
// the sequencer never stalls and lines come out in arrival order.
// Sink: writes the line (answer_json / answer_csv; error_json for a file that could not be used)
// through `emit`, which must flush; appends one record per face to the store (label = the
// predicted person for known faces, −1 for unknown) and fsyncs every `flush_records` records or
// `flush_interval` after the first unflushed one (a small timer thread), and always before
// run_watch returns. Unknown faces go to the UnknownTracker (proposed identities) when given.
// Frames with no face (detect/align modes) produce no line. In the answer line, "path" is the
// file as found (watched DIR / relative path) and "ms" the time from the watcher reporting the
// file to its answer (read, decode, faces, classify and any queueing); the store keeps the path
// relative to DIR.
// Annotate (detect/align models): OUT/<relative path, '/' -> '_', extension dropped>.png with the
// boxes and names drawn by nodes/annotate, as `classify --annotate` does.
// Stop: FolderWatcher::stop() or its stop fd (e.g. SIGTERM's self-pipe). What is in flight is
// drained and written, the store flushed, then run_watch returns.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include "nodes/image/embed.hpp"
#include "nodes/image/watcher.hpp"
#include "nodes/model/model.hpp"
#include "nodes/model/openset.hpp"

namespace lumaflow {

enum class AnswerFormat { json, csv };

struct WatchOptions {
  int threads = 0;                 // <= 0: all cores
  int max_in_flight = 0;           // <= 0: 4 per thread
  std::filesystem::path store;     // empty: no store
  std::filesystem::path annotate;  // empty: no annotated frames (folder)
  AnswerFormat format = AnswerFormat::json;
  size_t flush_records = 16;                      // fsync the store after this many records ...
  std::chrono::milliseconds flush_interval{200};  // ... or this long after the first unflushed one
};

struct WatchSummary {
  size_t files = 0;                             // events handled (files and watch errors)
  size_t errors = 0;                            // error lines
  size_t faces = 0;                             // answer lines
  size_t known = 0, unknown = 0, proposed = 0;  // proposed: unknown faces that joined a new identity
  size_t stored = 0;                            // records appended to the store
  size_t no_face = 0;                           // frames without a face
};

// One answer line without its newline; must write and flush it (throw to stop the watch).
using LineSink = std::function<void(const std::string& line)>;
// A non-fatal problem (e.g. an annotated frame that could not be written).
using WarnSink = std::function<void(const std::string& message)>;

// The embed options that reproduce the model's preprocessing. Throws std::runtime_error when
// this build cannot reproduce it (the model was made by another version).
EmbedOptions embed_options_for(const FittedModel& model);

// Runs until the watcher stops. `tools` is needed when the model's face mode is detect/align;
// `tracker` may be null (no open-set identities). Throws StoreError when `opt.store` exists with
// other preprocessing (before watching), and rethrows a sink failure after draining.
WatchSummary run_watch(FolderWatcher& watcher, const FittedModel& model, const WatchOptions& opt,
                       const FaceTools* tools, UnknownTracker* tracker, const LineSink& emit,
                       const WarnSink& warn = {});

}  // namespace lumaflow
