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
// Sink (serial, in arrival order): nodes/model/recorder (Recorder::record) — the answer lines,
// the store (group commit: a printed answer is a durable record), the open-set tracker, the
// deferred error lines of files still being written and the write-error rules (WatchWriteError,
// `lumaflow watch` exits with code 4) are all stated and tested there.
// Frames with no face (detect/align modes) produce no line. In the answer line, "path" is the
// file as found (watched DIR / relative path) and "ms" the time from the watcher reporting the
// file to its answer line (read, decode, faces, classify, queueing and the store's fsync); the
// store keeps the path relative to DIR.
// Annotate: OUT/annotated_file_name(relative path) with the boxes and names drawn by
// nodes/model/annotate (write_annotated), as `classify --annotate` does.
// Stop: FolderWatcher::stop() or its stop fd (e.g. SIGTERM's self-pipe). What is in flight is
// drained and written, the store flushed, then run_watch returns.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>

#include "nodes/image/embed.hpp"
#include "nodes/image/watcher.hpp"
#include "nodes/model/model.hpp"
#include "nodes/model/openset.hpp"
#include "nodes/model/recorder.hpp"

namespace lumaflow {

struct WatchOptions {
  int threads = 0;                 // <= 0: all cores
  int max_in_flight = 0;           // <= 0: 4 per thread
  std::filesystem::path store;     // empty: no store
  std::filesystem::path annotate;  // empty: no annotated frames (folder)
  AnswerFormat format = AnswerFormat::json;
  std::chrono::milliseconds flush_interval{200};  // save the identities sidecar this long after a change
  std::chrono::milliseconds error_grace{300};     // delay of a file's error line (see above)
};

// The embed options that reproduce the model's preprocessing. Throws std::runtime_error when
// this build cannot reproduce it (the model was made by another version).
EmbedOptions embed_options_for(const FittedModel& model);

// Runs until the watcher stops. `tools` is needed when the model's face mode is detect/align;
// `tracker` may be null (no open-set identities). Throws StoreError when `opt.store` exists with
// other preprocessing (before watching), WatchWriteError after a write error (see above), and
// rethrows any other sink failure after draining.
WatchSummary run_watch(FolderWatcher& watcher, const FittedModel& model, const WatchOptions& opt,
                       const FaceTools* tools, UnknownTracker* tracker, const LineSink& emit,
                       const WarnSink& warn = {});

}  // namespace lumaflow
