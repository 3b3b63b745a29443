#include "nodes/model/recorder.hpp"

#include <set>

#include "nodes/image/watcher.hpp"

namespace lumaflow {

using Clock = std::chrono::steady_clock;

struct Recorder::Queued {        // a line waiting for the store's commit
  std::optional<Answer> answer;  // an answer line (built at commit time, with its "ms")
  std::string line;              // else this error line
  Clock::time_point arrived;
  std::string path;  // as shown
  bool stored = false;
};

struct Recorder::Deferred {  // a file's error line, held back in case the file is written again
  std::string line;
  std::filesystem::path path;
  Clock::time_point due;
};

Recorder::Recorder(const FittedModel& model, const RecorderOptions& opt, UnknownTracker* tracker, LineSink emit,
                   WarnSink warn, std::function<void()> on_stop)
    : model_(model),
      opt_(opt),
      tracker_(tracker),
      emit_(std::move(emit)),
      warn_(std::move(warn)),
      on_stop_(std::move(on_stop)) {
  if (!opt_.store.empty()) {
    store_ = std::make_unique<StoreAppender>(opt_.store, make_header(model.prep, model.labels, "watch"));
    if (store_->repaired() && warn_)
      warn_(opt_.store.string() + ": repaired before appending: " + store_->repaired()->summary());
  }
  if (opt_.background)
    committer_ = std::thread([this] {
      std::unique_lock lk(mu_);
      const auto period = std::chrono::milliseconds(10);
      while (!done_) {
        cv_.wait_for(lk, period, [this] { return done_ || !queued_.empty(); });
        if (done_) break;
        commit_locked();
        if (!deferred_.empty()) release_deferred_locked(false);
        if (unsaved_since_ && Clock::now() - *unsaved_since_ >= opt_.flush_interval) save_tracker_locked();
      }
    });
}

Recorder::~Recorder() {
  {
    std::lock_guard lk(mu_);
    done_ = true;
  }
  cv_.notify_all();
  if (committer_.joinable()) committer_.join();
}

std::string Recorder::error_line(const std::string& path, const std::string& why) const {
  return opt_.format == AnswerFormat::csv ? error_csv(path, why) : error_json(path, why);
}

void Recorder::fail_locked(std::exception_ptr e) {
  if (failure_) return;
  failure_ = e;
  if (on_stop_) on_stop_();
}

void Recorder::write_failure_locked(const std::string& what) {
  write_failed_ = true;
  fail_locked(std::make_exception_ptr(WatchWriteError(what)));
}

// A failure of the answer stream stops the watch. False when not written.
bool Recorder::emit_locked(const std::string& line) {
  try {
    emit_(line);
    return true;
  } catch (const std::exception& e) {
    write_failure_locked(e.what());
  } catch (...) {
    write_failure_locked("cannot write the answer stream");
  }
  return false;
}

void Recorder::record(const ArrivedFile& file, const FrameResult& r, std::vector<FaceAnswer>& faces) {
  std::lock_guard lk(mu_);
  const std::string shown_path = file.path.string();
  ++sum_.files;
  if (file.is_file && deferred_.erase(file.rel)) --sum_.files;  // written again: this answer replaces the error
  if (write_failed_) {  // taken before the watch stopped: say so, it is neither stored nor answered
    ++sum_.errors;
    emit_locked(error_line(shown_path, "not processed: the watch stopped after a write error"));
    return;
  }
  if (failure_) return;
  try {
    if (!r.ok()) {
      if (file.is_file && opt_.error_grace.count() > 0) {
        deferred_[file.rel] = {error_line(shown_path, r.error), file.path, Clock::now() + opt_.error_grace};
        return;
      }
      ++sum_.errors;
      queued_.push_back({std::nullopt, error_line(shown_path, r.error), file.arrived, shown_path, false});
    }
    if (r.ok() && r.faces.empty()) ++sum_.no_face;
    if (r.ok() && faces.size() != r.faces.size())
      throw std::logic_error("recorder: " + std::to_string(faces.size()) + " answers for " +
                             std::to_string(r.faces.size()) + " faces of " + shown_path);
    for (size_t i = 0; r.ok() && i < r.faces.size(); ++i) {
      const FaceCrop& f = r.faces[i];
      FaceAnswer& fa = faces[i];
      Answer& a = fa.answer;
      a.path = shown_path;
      const Classification& c = a.result;
      const bool known = c.known && c.label >= 0 && static_cast<size_t>(c.label) < model_.labels.size();
      if (known) {
        ++sum_.known;
        fa.shown = model_.labels[static_cast<size_t>(c.label)];
      } else {
        ++sum_.unknown;
        if (tracker_) {
          tracker_->refresh_names();
          a.proposed = tracker_->add(fa.reduced.data(), file.rel, f.face_index);
          if (a.proposed) ++sum_.proposed;
          if (!unsaved_since_) unsaved_since_ = Clock::now();
        }
        fa.shown = a.proposed.value_or("unknown");
      }
      ++sum_.faces;
      if (store_) {
        RecordInfo info = record_info(r, f);
        info.path = file.rel;
        info.label = known ? store_->label_index(fa.shown) : -1;
        add_face(*store_, std::move(info), f);
        ++sum_.stored;
      }
      queued_.push_back({a, {}, file.arrived, shown_path, store_ != nullptr});
    }
    if (!store_)
      commit_locked();  // nothing to make durable first
    else
      cv_.notify_all();
  } catch (...) {
    fail_locked(std::current_exception());
  }
}

void Recorder::commit() {
  std::lock_guard lk(mu_);
  commit_locked();
}

void Recorder::tick() {
  std::lock_guard lk(mu_);
  commit_locked();
  if (!deferred_.empty()) release_deferred_locked(false);
  if (unsaved_since_ && Clock::now() - *unsaved_since_ >= opt_.flush_interval) save_tracker_locked();
}

// Store first (one segment, fsynced), lines second.
void Recorder::commit_locked() {
  if (queued_.empty()) return;
  std::vector<Queued> batch;
  batch.swap(queued_);
  if (store_) {
    try {
      store_->flush();
    } catch (const std::exception& e) {
      // Rolled back by the appender: none of the batch's faces is in the store. Each file that
      // had faces in it gets one error line instead of its answers.
      const std::string why = std::string("not stored: ") + e.what();
      std::set<std::string> told;
      for (const Queued& q : batch) {
        if (!q.stored) {
          if (!write_failed_) emit_locked(q.line);
          continue;
        }
        --sum_.faces;
        --sum_.stored;
        if (q.answer && q.answer->result.known)
          --sum_.known;
        else
          --sum_.unknown;
        if (told.insert(q.path).second) {
          ++sum_.errors;
          if (!write_failed_) emit_locked(error_line(q.path, why));
        }
      }
      write_failure_locked(e.what());
      return;
    }
  }
  bool reported = false;  // a line of this batch's records is out: the segment must stay
  for (size_t i = 0; i < batch.size(); ++i) {
    Queued& q = batch[i];
    if (q.answer) {
      q.answer->ms = std::chrono::duration<double, std::milli>(Clock::now() - q.arrived).count();
      q.line = opt_.format == AnswerFormat::csv ? answer_csv(*q.answer, model_) : answer_json(*q.answer, model_);
    }
    if (write_failed_) return;
    try {
      emit_(q.line);
      reported = reported || q.stored;
    } catch (const std::exception& e) {
      std::string what = e.what();
      size_t unreported = 0;
      for (size_t k = i; k < batch.size(); ++k) unreported += batch[k].stored ? 1 : 0;
      if (unreported > 0 && !reported) {
        // None of the segment's faces was reported: take it back, so the store holds exactly
        // the faces of the answer stream.
        try {
          store_->undo_last_flush();
          sum_.stored -= unreported;
          unreported = 0;
        } catch (const std::exception& u) {
          what += std::string("; ") + u.what();
        }
      }
      if (unreported)
        what += "; " + std::to_string(unreported) + " face" + (unreported == 1 ? "" : "s") + " stored in " +
                opt_.store.string() + (unreported == 1 ? " has" : " have") + " no answer line (the first from " +
                q.path + ")";
      write_failure_locked(what);
      return;
    }
  }
}

// Error lines held back for `error_grace`; all of them when `all`.
void Recorder::release_deferred_locked(bool all) {
  const auto now = Clock::now();
  for (auto it = deferred_.begin(); it != deferred_.end();) {
    if (!all && it->second.due > now) {
      ++it;
      continue;
    }
    if (!all && is_open_for_writing(it->second.path)) {  // being written again: its close will come
      it->second.due = now + opt_.error_grace;
      ++it;
      continue;
    }
    ++sum_.errors;
    if (!write_failed_) emit_locked(it->second.line);
    it = deferred_.erase(it);
  }
}

void Recorder::save_tracker_locked() {
  if (!tracker_ || !unsaved_since_) return;
  unsaved_since_.reset();
  try {
    tracker_->save();
  } catch (const std::exception& e) {
    write_failure_locked(e.what());
  }
}

WatchSummary Recorder::finish() {
  {
    std::lock_guard lk(mu_);
    try {
      commit_locked();  // always, also after a failure: what was reported must be in the store
      release_deferred_locked(true);
      save_tracker_locked();
      if (store_ && !write_failed_) store_->close();
    } catch (...) {
      if (!failure_) failure_ = std::current_exception();
    }
    done_ = true;
  }
  cv_.notify_all();
  if (committer_.joinable()) committer_.join();
  if (failure_) std::rethrow_exception(failure_);
  return sum_;
}

void Recorder::warn(const std::string& message) {
  std::lock_guard lk(mu_);
  if (warn_) warn_(message);
}

WatchSummary Recorder::summary() const {
  std::lock_guard lk(mu_);
  return sum_;
}

}  // namespace lumaflow
