#include "flow/watch.hpp"

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task_arena.h>
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <opencv2/imgcodecs.hpp>
#include <optional>
#include <semaphore>
#include <set>
#include <thread>

#include "flow/frames.hpp"
#include "flow/ingest.hpp"
#include "nodes/core/parallel.hpp"
#include "nodes/core/pixels.hpp"
#include "nodes/model/annotate.hpp"
#include "nodes/model/answer.hpp"
#include "nodes/store/store.hpp"

namespace lumaflow {
namespace {

using Clock = std::chrono::steady_clock;

struct FaceAnswer {
  Classification result;
  std::vector<float> reduced;  // reduced-space vector, for unknown faces only
  std::string shown;           // the name drawn on an annotated frame
};

// One watched file in flight.
struct WatchWork {
  FrameWork frame;
  WatchEvent event;
  Clock::time_point arrived;
  std::vector<FaceAnswer> faces;
};

FrameWork& frame_of(WatchWork& w) { return w.frame; }

void classify_stage(WatchWork& w, const FittedModel& model) {
  const auto d = static_cast<Eigen::Index>(model.dims());
  for (const FaceCrop& f : w.frame.result.faces) {
    const RowMatrixF row = face_row(f);
    if (row.cols() != d)
      throw std::runtime_error("face has " + std::to_string(row.cols()) + " values, the model expects " +
                               std::to_string(d));
    FaceAnswer a;
    a.result = std::move(classify(model, row, 1).at(0));
    if (!a.result.known) {
      const RowMatrixF z = model.reduce(row);
      a.reduced.assign(z.data(), z.data() + z.size());
    }
    w.faces.push_back(std::move(a));
  }
}

// Draws exactly as `classify --annotate` does (nodes/model/annotate: marks and file name).
void write_annotated(const WatchWork& w, const std::filesystem::path& dir) {
  const cv::Mat img = cv::imread(w.event.path.string(), cv::IMREAD_COLOR);
  if (img.empty()) throw std::runtime_error(w.event.path.string() + ": cannot re-read the frame to annotate it");
  std::vector<FaceMark> marks;
  for (size_t i = 0; i < w.frame.result.faces.size(); ++i) {
    const auto& box = w.frame.result.faces[i].box;
    const cv::Rect r = box ? cv::Rect(box->x, box->y, box->width, box->height) : cv::Rect();
    const FaceAnswer& a = w.faces[i];
    marks.push_back(
        answer_mark(box ? &r : nullptr, img.size(), a.result.known, a.result.label, a.result.confidence, a.shown));
  }
  if (marks.empty()) return;  // no face found: nothing to draw
  const std::filesystem::path out = dir / annotated_file_name(w.event.rel);
  std::filesystem::create_directories(out.parent_path());
  if (!cv::imwrite(out.string(), annotate_frame(img, marks)))
    throw std::runtime_error(out.string() + ": cannot write the annotated frame");
}

}  // namespace

EmbedOptions embed_options_for(const FittedModel& model) {
  EmbedOptions e;
  try {
    e = EmbedOptions::from(model.prep);
  } catch (const std::exception& ex) {
    throw std::runtime_error(std::string("the model's preprocessing cannot be reproduced: ") + ex.what());
  }
  if (const std::string d = e.preprocessing().difference(model.prep); !d.empty())
    throw std::runtime_error("the model's preprocessing cannot be reproduced by this build: " + d);
  return e;
}

WatchSummary run_watch(FolderWatcher& watcher, const FittedModel& model, const WatchOptions& opt,
                       const FaceTools* tools, UnknownTracker* tracker, const LineSink& emit, const WarnSink& warn) {
  namespace flow = oneapi::tbb::flow;
  using Msg = std::shared_ptr<WatchWork>;
  const EmbedOptions embed = embed_options_for(model);
  if ((embed.faces != FaceMode::asis || embed.embedding == Embedding::resnet) && !tools)
    throw std::logic_error(std::string("face mode ") + face_mode_name(embed.faces) + " / embedding " +
                           embedding_name(embed.embedding) + " needs face tools");
  const int threads = resolve_threads(opt.threads);
  const std::ptrdiff_t in_flight = opt.max_in_flight > 0 ? opt.max_in_flight : 4 * threads;

  // Opened before watching, so a store made with other preprocessing is refused up front.
  std::unique_ptr<StoreAppender> store;
  if (!opt.store.empty()) {
    store = std::make_unique<StoreAppender>(opt.store, make_header(model.prep, model.labels, "watch"));
    if (store->repaired() && warn)
      warn(opt.store.string() + ": repaired before appending: " + store->repaired()->summary());
  }

  WatchSummary sum;
  // The sink's and the committer's state, all under mu.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::optional<Clock::time_point> unsaved_since;  // tracker changed, sidecar not saved yet
  std::exception_ptr failure;
  bool write_failed = false;       // the store or the answer stream failed: nothing more is taken
  struct Queued {                  // a line waiting for the store's commit
    std::optional<Answer> answer;  // an answer line (built at commit time, with its "ms")
    std::string line;              // else this error line
    Clock::time_point arrived;
    std::string path;  // as shown
    bool stored = false;
  };
  std::vector<Queued> queued;
  struct Deferred {  // a file's error line, held back in case the file is written again
    std::string line;
    std::filesystem::path path;
    Clock::time_point due;
  };
  std::map<std::string, Deferred> deferred;  // by relative path
  auto format_error = [&](const std::string& path, const std::string& why) {
    return opt.format == AnswerFormat::csv ? error_csv(path, why) : error_json(path, why);
  };
  auto fail = [&](std::exception_ptr e) {  // with mu held
    if (!failure) failure = e;
    watcher.stop();
  };
  auto write_failure = [&](const std::string& what) {  // with mu held
    write_failed = true;
    fail(std::make_exception_ptr(WatchWriteError(what)));
  };
  // Writes one line; a failure of the answer stream stops the watch. False when not written.
  auto emit_line = [&](const std::string& line) {
    try {
      emit(line);
      return true;
    } catch (const std::exception& e) {
      write_failure(e.what());
    } catch (...) {
      write_failure("cannot write the answer stream");
    }
    return false;
  };
  // Store first (one segment, fsynced), lines second. With mu held.
  auto commit_locked = [&] {
    if (queued.empty()) return;
    std::vector<Queued> batch;
    batch.swap(queued);
    if (store) {
      try {
        store->flush();
      } catch (const std::exception& e) {
        // Rolled back by the appender: none of the batch's faces is in the store. Each file
        // that had faces in it gets one error line instead of its answers.
        const std::string why = std::string("not stored: ") + e.what();
        std::set<std::string> told;
        for (const Queued& q : batch) {
          if (!q.stored) {
            if (!write_failed) emit_line(q.line);
            continue;
          }
          --sum.faces;
          --sum.stored;
          if (q.answer && q.answer->result.known)
            --sum.known;
          else
            --sum.unknown;
          if (told.insert(q.path).second) {
            ++sum.errors;
            if (!write_failed) emit_line(format_error(q.path, why));
          }
        }
        write_failure(e.what());
        return;
      }
    }
    bool reported = false;  // a line of this batch's records is out: the segment must stay
    for (size_t i = 0; i < batch.size(); ++i) {
      Queued& q = batch[i];
      if (q.answer) {
        q.answer->ms = std::chrono::duration<double, std::milli>(Clock::now() - q.arrived).count();
        q.line = opt.format == AnswerFormat::csv ? answer_csv(*q.answer, model) : answer_json(*q.answer, model);
      }
      if (write_failed) return;
      try {
        emit(q.line);
        reported = reported || q.stored;
      } catch (const std::exception& e) {
        std::string what = e.what();
        size_t unreported = 0;
        for (size_t k = i; k < batch.size(); ++k) unreported += batch[k].stored ? 1 : 0;
        if (unreported > 0 && !reported) {
          // None of the segment's faces was reported: take it back, so the store holds exactly
          // the faces of the answer stream.
          try {
            store->undo_last_flush();
            sum.stored -= unreported;
            unreported = 0;
          } catch (const std::exception& u) {
            what += std::string("; ") + u.what();
          }
        }
        if (unreported)
          what += "; " + std::to_string(unreported) + " face" + (unreported == 1 ? "" : "s") + " stored in " +
                  opt.store.string() + (unreported == 1 ? " has" : " have") + " no answer line (the first from " +
                  q.path + ")";
        write_failure(what);
        return;
      }
    }
  };
  // Error lines held back for `error_grace`; all of them when `all`. With mu held.
  auto release_deferred_locked = [&](bool all) {
    const auto now = Clock::now();
    for (auto it = deferred.begin(); it != deferred.end();) {
      if (!all && it->second.due > now) {
        ++it;
        continue;
      }
      if (!all && is_open_for_writing(it->second.path)) {  // being written again: its close will come
        it->second.due = now + opt.error_grace;
        ++it;
        continue;
      }
      ++sum.errors;
      if (!write_failed) emit_line(it->second.line);
      it = deferred.erase(it);
    }
  };
  auto save_tracker_locked = [&] {
    if (!tracker || !unsaved_since) return;
    unsaved_since.reset();
    try {
      tracker->save();
    } catch (const std::exception& e) {
      write_failure(e.what());
    }
  };
  // The committer: commits what the sink queued (group commit: everything queued while the
  // previous fsync ran goes into one segment), releases due error lines, saves the sidecar.
  std::thread committer;
  struct StopCommitter {  // joins the committer on every way out of this function
    std::mutex& mu;
    std::condition_variable& cv;
    bool& done;
    std::thread& t;
    ~StopCommitter() {
      {
        std::lock_guard lk(mu);
        done = true;
      }
      cv.notify_all();
      if (t.joinable()) t.join();
    }
  } stop_committer{mu, cv, done, committer};
  committer = std::thread([&] {
    std::unique_lock lk(mu);
    const auto tick = std::chrono::milliseconds(10);
    while (!done) {
      cv.wait_for(lk, tick, [&] { return done || !queued.empty(); });
      if (done) break;
      commit_locked();
      if (!deferred.empty()) release_deferred_locked(false);
      if (unsaved_since && Clock::now() - *unsaved_since >= opt.flush_interval) save_tracker_locked();
    }
  });
  std::counting_semaphore<> slots(in_flight);
  std::exception_ptr watcher_error;
  oneapi::tbb::task_arena arena(threads);
  arena.execute([&] {
    flow::graph g;
    using Gateway = flow::async_node<flow::continue_msg, Msg>;
    // The body never runs: nothing is put into the gateway's input; the feeder thread uses its gateway.
    Gateway gateway(g, flow::unlimited, [](const flow::continue_msg&, Gateway::gateway_type&) {});
    FrameChain<WatchWork, frame_of> chain(g, embed, tools);
    flow::function_node<Msg, Msg> classify_node(g, flow::unlimited, [&](Msg w) {
      try {
        if (w->frame.result.ok()) classify_stage(*w, model);
      } catch (const std::exception& e) {
        w->frame.result.error = e.what();
        w->faces.clear();
      }
      return w;
    });
    flow::sequencer_node<Msg> order(g, [](const Msg& w) { return static_cast<size_t>(w->frame.result.seq); });
    flow::function_node<Msg, Msg> sink(g, flow::serial, [&](Msg w) {
      std::lock_guard lk(mu);
      const FrameResult& r = w->frame.result;
      const std::string shown_path = w->event.path.string();
      const bool file_event = w->event.ok();  // a file, not a watch error
      ++sum.files;
      if (file_event && deferred.erase(w->event.rel)) --sum.files;  // written again: this answer replaces the error
      if (write_failed) {  // taken before the watch stopped: say so, it is neither stored nor answered
        ++sum.errors;
        emit_line(format_error(shown_path, "not processed: the watch stopped after a write error"));
        return w;
      }
      if (failure) return w;
      try {
        if (!r.ok()) {
          if (file_event && opt.error_grace.count() > 0) {
            deferred[w->event.rel] = {format_error(shown_path, r.error), w->event.path, Clock::now() + opt.error_grace};
            return w;
          }
          ++sum.errors;
          queued.push_back({std::nullopt, format_error(shown_path, r.error), w->arrived, shown_path, false});
        }
        if (r.ok() && r.faces.empty()) ++sum.no_face;
        for (size_t i = 0; r.ok() && i < r.faces.size(); ++i) {
          const FaceCrop& f = r.faces[i];
          FaceAnswer& fa = w->faces[i];
          Answer a;
          a.path = shown_path;
          a.face_index = f.face_index;
          a.box = f.box;
          a.result = fa.result;
          const bool known =
              fa.result.known && fa.result.label >= 0 && static_cast<size_t>(fa.result.label) < model.labels.size();
          if (known) {
            ++sum.known;
            fa.shown = model.labels[static_cast<size_t>(fa.result.label)];
          } else {
            ++sum.unknown;
            if (tracker) {
              tracker->refresh_names();
              a.proposed = tracker->add(fa.reduced.data(), w->event.rel, f.face_index);
              if (a.proposed) ++sum.proposed;
              if (!unsaved_since) unsaved_since = Clock::now();
            }
            fa.shown = a.proposed.value_or("unknown");
          }
          ++sum.faces;
          if (store) {
            RecordInfo info = record_info(r, f);
            info.path = w->event.rel;
            info.label = known ? store->label_index(fa.shown) : -1;
            add_face(*store, std::move(info), f);
            ++sum.stored;
          }
          queued.push_back({std::move(a), {}, w->arrived, shown_path, store != nullptr});
        }
        if (!store)
          commit_locked();  // nothing to make durable first
        else
          cv.notify_all();
      } catch (...) {
        fail(std::current_exception());
      }
      return w;
    });
    flow::function_node<Msg, flow::continue_msg> finish(g, flow::unlimited, [&](Msg w) {
      if (!opt.annotate.empty() && w->frame.result.ok()) {
        try {
          write_annotated(*w, opt.annotate);
        } catch (const std::exception& e) {
          if (warn) {
            std::lock_guard lk(mu);
            warn(e.what());
          }
        }
      }
      w.reset();
      slots.release();
      return flow::continue_msg();
    });
    flow::make_edge(gateway, chain.input());
    flow::make_edge(chain.output(), classify_node);
    flow::make_edge(classify_node, order);
    flow::make_edge(order, sink);
    flow::make_edge(sink, finish);

    auto& gw = gateway.gateway();
    gw.reserve_wait();
    std::thread feeder([&] {
      try {
        uint64_t seq = 0;
        while (auto ev = watcher.next()) {
          slots.acquire();
          if (watcher.stopped()) {
            slots.release();
            break;
          }
          auto w = std::make_shared<WatchWork>();
          w->arrived = Clock::now();
          w->frame.result.seq = seq++;
          w->frame.result.entry.path = ev->path;
          w->frame.result.entry.rel = ev->rel;
          if (!ev->ok()) w->frame.result.error = ev->error;
          w->event = std::move(*ev);
          gw.try_put(std::move(w));
        }
      } catch (...) {
        watcher_error = std::current_exception();
      }
      gw.release_wait();
    });
    g.wait_for_all();
    feeder.join();
  });

  {
    std::lock_guard lk(mu);
    try {
      commit_locked();  // always, also after a failure: what was reported must be in the store
      release_deferred_locked(true);
      save_tracker_locked();
      if (store && !write_failed) store->close();
    } catch (...) {
      if (!failure) failure = std::current_exception();
    }
    done = true;
  }
  cv.notify_all();
  committer.join();
  if (watcher_error) std::rethrow_exception(watcher_error);
  if (failure) std::rethrow_exception(failure);
  return sum;
}

}  // namespace lumaflow
