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
// Sink (serial, in arrival order): appends one record per face to the store (label = the
// predicted person for known faces, -1 for unknown) and queues the face's answer line
// (answer_json / answer_csv; error_json for a file that could not be used). A committer thread
// takes whatever is queued, writes it to the store as one segment and fsyncs
// (StoreAppender::flush, group commit), and only then writes the lines through `emit`, which
// must write each line whole and flush it. So a printed answer is a durable record: after a
// kill -9 at any moment every face in the answer stream is in the store. Without a store lines
// are written at once. Unknown faces go to the UnknownTracker (proposed identities) when given;
// its sidecar is saved `flush_interval` after a change and before run_watch returns.
// Write errors: when the store append fails (disk full), its partial segment is rolled back and
// each file whose faces were in it gets an error line instead of its answers; when `emit` fails,
// nothing more is written. Either way the watch stops taking files, files still in flight get
// an error line (when the answer stream still works), and run_watch throws WatchWriteError
// (`lumaflow watch` exits with code 4). The answer stream and the store never disagree: when the
// answer stream fails, the group's segment is taken back (StoreAppender::undo_last_flush) unless
// some of its lines already went out; the faces then stored without a line are named in the error.
// A file that cannot be read or decoded gets its error line only after `error_grace` (and only
// once nobody has it open for writing): a writer that closes and reopens the file to append
// makes the watcher report it again, and the later answer replaces the error.
// Frames with no face (detect/align modes) produce no line. In the answer line, "path" is the
// file as found (watched DIR / relative path) and "ms" the time from the watcher reporting the
// file to its answer line (read, decode, faces, classify, queueing and the store's fsync); the
// store keeps the path relative to DIR.
// Annotate (detect/align models): OUT/<relative path, '/' -> '_', extension dropped>.png with the
// boxes and names drawn by nodes/annotate, as `classify --annotate` does.
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

namespace lumaflow {

enum class AnswerFormat { json, csv };

struct WatchOptions {
  int threads = 0;                 // <= 0: all cores
  int max_in_flight = 0;           // <= 0: 4 per thread
  std::filesystem::path store;     // empty: no store
  std::filesystem::path annotate;  // empty: no annotated frames (folder)
  AnswerFormat format = AnswerFormat::json;
  std::chrono::milliseconds flush_interval{200};  // save the identities sidecar this long after a change
  std::chrono::milliseconds error_grace{300};     // delay of a file's error line (see above)
};

struct WatchSummary {
  size_t files = 0;                             // events handled (files and watch errors)
  size_t errors = 0;                            // error lines
  size_t faces = 0;                             // answer lines
  size_t known = 0, unknown = 0, proposed = 0;  // proposed: unknown faces that joined a new identity
  size_t stored = 0;                            // records appended to the store
  size_t no_face = 0;                           // frames without a face
};

// The store or the answer stream could not be written; the watch stopped (exit code 4).
struct WatchWriteError : std::runtime_error {
  using std::runtime_error::runtime_error;
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
// other preprocessing (before watching), WatchWriteError after a write error (see above), and
// rethrows any other sink failure after draining.
WatchSummary run_watch(FolderWatcher& watcher, const FittedModel& model, const WatchOptions& opt,
                       const FaceTools* tools, UnknownTracker* tracker, const LineSink& emit,
                       const WarnSink& warn = {});

}  // namespace lumaflow
