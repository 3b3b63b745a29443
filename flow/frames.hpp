// The frame chain: read → decode → faces → describe, wired once for every graph that turns image
// files into faces (flow/ingest: embed, classify; flow/watch: watch).
//
// A FrameChain is four parallel function_nodes of one graph; the caller connects its own source
// to input() (a limiter gate for folders, the inotify gateway for watch) and its own sink to
// output() (usually through a sequencer on FrameResult::seq). Messages are shared_ptr<Work>, where
// `frame(work)` gives the FrameWork the stages act on, so a caller may carry more state per frame
// (watch carries its event and answers). Each stage is a plain function of nodes/image/embed; a
// stage that fails marks the frame (FrameResult::error) and the later ones let it pass, so every
// frame reaches output() exactly once.
//
// `each` (nodes/core/parallel.hpp) lets the faces and describe stages spread one frame's work —
// its detection, its faces — over the graph's threads; tbb_for_each() is the one for latency
// (watch). Empty: a frame's stages run on one thread, frames in parallel (throughput).
#pragma once

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include <memory>

#include "nodes/image/embed.hpp"

namespace lumaflow {

// A ForEach on the current task arena: every index its own task, and the calling thread, while
// it waits, works only on this call's pieces (isolate), so a frame is not held up by another
// frame's stage that it happened to pick up.
inline ForEach tbb_for_each() {
  return [](std::ptrdiff_t n, const std::function<void(std::ptrdiff_t)>& fn) {
    oneapi::tbb::this_task_arena::isolate([&] {
      oneapi::tbb::parallel_for(
          oneapi::tbb::blocked_range<std::ptrdiff_t>(0, n, 1),
          [&](const oneapi::tbb::blocked_range<std::ptrdiff_t>& r) {
            for (std::ptrdiff_t i = r.begin(); i != r.end(); ++i) fn(i);
          },
          oneapi::tbb::simple_partitioner());
    });
  };
}

template <class Work, FrameWork& (*frame)(Work&)>
class FrameChain {
 public:
  using Msg = std::shared_ptr<Work>;
  using Node = oneapi::tbb::flow::function_node<Msg, Msg>;

  FrameChain(oneapi::tbb::flow::graph& g, const EmbedOptions& opt, const FaceTools* tools, ForEach each = {})
      : each_(std::move(each)),
        read_(g, oneapi::tbb::flow::unlimited, stage(opt, tools, read_fn)),
        decode_(g, oneapi::tbb::flow::unlimited, stage(opt, tools, decode_fn)),
        faces_(g, oneapi::tbb::flow::unlimited, stage(opt, tools, faces_stage)),
        describe_(g, oneapi::tbb::flow::unlimited, stage(opt, tools, describe_stage)) {
    oneapi::tbb::flow::make_edge(read_, decode_);
    oneapi::tbb::flow::make_edge(decode_, faces_);
    oneapi::tbb::flow::make_edge(faces_, describe_);
  }

  Node& input() { return read_; }
  Node& output() { return describe_; }

 private:
  using StageFn = void (*)(FrameWork&, const EmbedOptions&, const FaceTools*, const ForEach&);
  static void read_fn(FrameWork& w, const EmbedOptions& o, const FaceTools*, const ForEach&) { read_stage(w, o); }
  static void decode_fn(FrameWork& w, const EmbedOptions& o, const FaceTools*, const ForEach&) { decode_stage(w, o); }
  auto stage(const EmbedOptions& opt, const FaceTools* tools, StageFn fn) {
    return [&opt, tools, fn, this](Msg m) {
      run_stage(frame(*m), [&](FrameWork& x) { fn(x, opt, tools, each_); });
      return m;
    };
  }

  ForEach each_;  // before the nodes, whose bodies use it
  Node read_, decode_, faces_, describe_;
};

}  // namespace lumaflow
