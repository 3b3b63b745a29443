// Broker worker graph: a batch of frames from the broker (bytes in memory, or a path on shared
// storage) -> the same frame chain and classifier as `watch` -> result entries.
//
//   input_node (the batch; a shared file is read and checked against the frame's hash here)
//     -> read (bytes already in memory: hash only) -> decode -> faces
//     -> describe -> classify_faces -> results_of (parallel; each frame fills its own slot)
//
// The graph is the FrameChain of flow/frames.hpp, built per batch in one task_arena of
// `threads`; every frame gets exactly one slot of result entries (an error entry when a stage
// failed, or when a shared file's bytes do not match the frame's hash).
#pragma once

#include <oneapi/tbb/task_arena.h>

#include <memory>
#include <string>
#include <vector>

#include "nodes/broker/codec.hpp"
#include "nodes/image/embed.hpp"
#include "nodes/model/model.hpp"

namespace lumaflow {

class BrokerClassifier {
 public:
  BrokerClassifier(const FittedModel& model, const EmbedOptions& embed, const FaceTools* tools, int threads,
                   std::string worker);
  ~BrokerClassifier();
  void operator()(std::vector<FrameEntry>& frames, std::vector<std::vector<ResultEntry>>& out);

 private:
  const FittedModel& model_;
  EmbedOptions embed_;
  const FaceTools* tools_;
  std::string worker_;
  std::unique_ptr<oneapi::tbb::task_arena> arena_;
};

}  // namespace lumaflow
