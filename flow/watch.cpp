#include "flow/watch.hpp"

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task_arena.h>

#include <exception>
#include <memory>
#include <semaphore>
#include <thread>

#include "flow/frames.hpp"
#include "nodes/core/parallel.hpp"
#include "nodes/model/annotate.hpp"
#include "nodes/model/recorder.hpp"

namespace lumaflow {
namespace {

using Clock = std::chrono::steady_clock;

// One watched file in flight.
struct WatchWork {
  FrameWork frame;
  WatchEvent event;
  Clock::time_point arrived;
  std::vector<FaceAnswer> faces;
};

FrameWork& frame_of(WatchWork& w) { return w.frame; }

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

  // Opens the store before watching, so a store made with other preprocessing is refused up front.
  Recorder recorder(model, {opt.store, opt.format, opt.flush_interval, opt.error_grace, true}, tracker, emit, warn,
                    [&watcher] { watcher.stop(); });
  std::counting_semaphore<> slots(in_flight);
  std::exception_ptr watcher_error;
  oneapi::tbb::task_arena arena(threads);
  arena.execute([&] {
    flow::graph g;
    using Gateway = flow::async_node<flow::continue_msg, Msg>;
    // The body never runs: nothing is put into the gateway's input; the feeder thread uses its gateway.
    Gateway gateway(g, flow::unlimited, [](const flow::continue_msg&, Gateway::gateway_type&) {});
    // Latency first: one frame's detection and faces use every thread of the arena.
    FrameChain<WatchWork, frame_of> chain(g, embed, tools, tbb_for_each());
    flow::function_node<Msg, Msg> classify_node(g, flow::unlimited, [&](Msg w) {
      run_stage(w->frame, [&](FrameWork& f) { w->faces = classify_faces(model, f.result.faces); });
      if (!w->frame.result.ok()) w->faces.clear();
      return w;
    });
    flow::sequencer_node<Msg> order(g, [](const Msg& w) { return static_cast<size_t>(w->frame.result.seq); });
    flow::function_node<Msg, Msg> sink(g, flow::serial, [&](Msg w) {
      recorder.record({w->event.path, w->event.rel, w->event.ok(), w->arrived}, w->frame.result, w->faces);
      return w;
    });
    flow::function_node<Msg, flow::continue_msg> finish(g, flow::unlimited, [&](Msg w) {
      if (!opt.annotate.empty() && w->frame.result.ok()) {
        try {
          write_annotated(w->event.path, w->event.rel, w->faces, opt.annotate);
        } catch (const std::exception& e) {
          recorder.warn(e.what());
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

  std::exception_ptr failure;
  WatchSummary sum;
  try {
    sum = recorder.finish();  // always, also after a failure: what was reported must be in the store
  } catch (...) {
    failure = std::current_exception();
  }
  if (watcher_error) std::rethrow_exception(watcher_error);
  if (failure) std::rethrow_exception(failure);
  return sum;
}

}  // namespace lumaflow
