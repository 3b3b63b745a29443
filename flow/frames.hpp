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
#pragma once

#include <oneapi/tbb/flow_graph.h>

#include <memory>

#include "nodes/image/embed.hpp"

namespace lumaflow {

template <class Work, FrameWork& (*frame)(Work&)>
class FrameChain {
 public:
  using Msg = std::shared_ptr<Work>;
  using Node = oneapi::tbb::flow::function_node<Msg, Msg>;

  FrameChain(oneapi::tbb::flow::graph& g, const EmbedOptions& opt, const FaceTools* tools)
      : read_(g, oneapi::tbb::flow::unlimited, stage(opt, tools, read_fn)),
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
  using StageFn = void (*)(FrameWork&, const EmbedOptions&, const FaceTools*);
  static void read_fn(FrameWork& w, const EmbedOptions& o, const FaceTools*) { read_stage(w, o); }
  static void decode_fn(FrameWork& w, const EmbedOptions& o, const FaceTools*) { decode_stage(w, o); }
  static auto stage(const EmbedOptions& opt, const FaceTools* tools, StageFn fn) {
    return [&opt, tools, fn](Msg m) {
      run_stage(frame(*m), [&](FrameWork& x) { fn(x, opt, tools); });
      return m;
    };
  }

  Node read_, decode_, faces_, describe_;
};

}  // namespace lumaflow
