// Recorder: what `watch` does with each classified file, in arrival order — the answer lines, the
// store, the open-set tracker and the summary — as a plain class that tests drive without TBB.
//
// record() (serial, in arrival order) appends one store record per face (label = the predicted
// person for known faces, -1 for unknown) and queues the face's answer line (answer_json /
// answer_csv; error_json for a file that could not be used). commit() writes whatever is queued
// to the store as one segment and fsyncs it (StoreAppender::flush: group commit), and only then
// writes the lines through `emit`: a printed answer is a durable record, so after a kill -9 at
// any moment every face in the answer stream is in the store. Without a store, record() writes
// the lines at once. Unknown faces join the UnknownTracker (proposed identities) when one is
// given; its sidecar is saved `flush_interval` after a change (tick) and by finish().
// With `background`, a committer thread calls commit() as soon as lines are queued (everything
// queued while the previous fsync ran goes into one segment) and tick() every 10 ms; without it
// the caller calls them (tests).
// Write errors: when the store append fails (disk full) its partial segment is rolled back and
// each file whose faces were in it gets an error line instead of its answers; when `emit` fails,
// nothing more is written. Either way `on_stop` is called once (the watch stops taking files),
// files recorded later get an error line while the answer stream still works, and finish()
// throws WatchWriteError. The answer stream and the store never disagree: when `emit` fails, the
// group's segment is taken back (StoreAppender::undo_last_flush) unless some of its lines already
// went out; the faces then stored without a line are named in the error.
// A file that cannot be read or decoded gets its error line only after `error_grace`, and only
// once nobody has it open for writing: a writer that closes and reopens the file makes the
// watcher report it again, and the later answer replaces the error.
// Thread-safe: every public member takes the recorder's lock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "nodes/image/embed.hpp"
#include "nodes/model/answer.hpp"
#include "nodes/model/openset.hpp"
#include "nodes/store/store.hpp"

namespace lumaflow {

enum class AnswerFormat { json, csv };

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

struct RecorderOptions {
  std::filesystem::path store;  // empty: no store
  AnswerFormat format = AnswerFormat::json;
  std::chrono::milliseconds flush_interval{200};  // save the identities sidecar this long after a change
  std::chrono::milliseconds error_grace{300};     // delay of a file's error line (see above); 0: at once
  bool background = true;                         // run the committer thread
};

// One file as the recorder sees it. `faces[i]` answers `result.faces[i]`; record() fills in each
// answer's path, proposed identity and shown name.
struct ArrivedFile {
  std::filesystem::path path;  // as found: shown in the lines
  std::string rel;             // relative to the watched folder (the store keeps this)
  bool is_file = true;         // false: a watch error, not a file (never deferred)
  std::chrono::steady_clock::time_point arrived;
};

class Recorder {
 public:
  // Opens (or creates) the store: throws StoreError when it holds other preprocessing, before
  // anything is watched. `on_stop` is called once, on the first failure.
  Recorder(const FittedModel& model, const RecorderOptions& opt, UnknownTracker* tracker, LineSink emit,
           WarnSink warn = {}, std::function<void()> on_stop = {});
  ~Recorder();  // stops the committer; call finish() first to keep what is queued
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  void record(const ArrivedFile& file, const FrameResult& result, std::vector<FaceAnswer>& faces);
  void commit();  // group commit of what is queued
  void tick();    // commit, error lines now due, the sidecar when due
  // Commits everything, writes every held-back error line, saves the sidecar, closes the store;
  // rethrows the first failure (WatchWriteError after a write error).
  WatchSummary finish();
  void warn(const std::string& message);  // through the warn sink, serialised with the lines
  WatchSummary summary() const;

 private:
  struct Queued;
  struct Deferred;
  void commit_locked();
  void release_deferred_locked(bool all);
  void save_tracker_locked();
  void fail_locked(std::exception_ptr e);
  void write_failure_locked(const std::string& what);
  bool emit_locked(const std::string& line);
  std::string error_line(const std::string& path, const std::string& why) const;

  const FittedModel& model_;
  RecorderOptions opt_;
  UnknownTracker* tracker_;
  LineSink emit_;
  WarnSink warn_;
  std::function<void()> on_stop_;
  std::unique_ptr<StoreAppender> store_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  WatchSummary sum_;
  std::vector<Queued> queued_;
  std::map<std::string, Deferred> deferred_;                            // by relative path
  std::optional<std::chrono::steady_clock::time_point> unsaved_since_;  // tracker changed, not saved
  std::exception_ptr failure_;
  bool write_failed_ = false;  // the store or the answer stream failed: nothing more is taken
  std::thread committer_;
};

}  // namespace lumaflow
