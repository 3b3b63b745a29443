#include "flow/broker_worker.hpp"

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task_arena.h>

#include "flow/frames.hpp"
#include "nodes/core/checksum.hpp"
#include "nodes/core/parallel.hpp"
#include "nodes/model/answer.hpp"

namespace lumaflow {
namespace {

struct BrokerWork {
  FrameWork frame;
  size_t slot = 0;
};

FrameWork& frame_of(BrokerWork& w) { return w.frame; }

}  // namespace

BrokerClassifier::BrokerClassifier(const FittedModel& model, const EmbedOptions& embed, const FaceTools* tools,
                                   int threads, std::string worker)
    : model_(model),
      embed_(embed),
      tools_(tools),
      worker_(std::move(worker)),
      arena_(std::make_unique<oneapi::tbb::task_arena>(resolve_threads(threads))) {}

BrokerClassifier::~BrokerClassifier() = default;

void BrokerClassifier::operator()(std::vector<FrameEntry>& frames, std::vector<std::vector<ResultEntry>>& out) {
  namespace flow = oneapi::tbb::flow;
  using Msg = std::shared_ptr<BrokerWork>;
  out.assign(frames.size(), {});
  arena_->execute([&] {
    flow::graph g;
    size_t next = 0;
    flow::input_node<Msg> source(g, [&](oneapi::tbb::flow_control& fc) -> Msg {
      if (next >= frames.size()) {
        fc.stop();
        return {};
      }
      auto w = std::make_shared<BrokerWork>();
      w->slot = next;
      FrameEntry& f = frames[next++];
      w->frame.result.seq = w->slot;
      w->frame.result.entry.rel = f.name;
      w->frame.result.entry.path = std::filesystem::path(f.shared_path.empty() ? f.name : f.shared_path);
      w->frame.preloaded = true;
      if (f.shared_path.empty()) {
        w->frame.bytes = std::move(f.bytes);  // checked against the hash on receipt
      } else {
        // A file on shared storage: read here and checked against the published hash.
        run_stage(w->frame, [&](FrameWork& x) {
          x.bytes = read_bytes(f.shared_path, embed_.max_file_bytes);
          if (xxh3_64(x.bytes.data(), x.bytes.size()) != f.hash)
            throw std::runtime_error(f.shared_path + ": its bytes do not match the published hash (changed since)");
        });
      }
      return w;
    });
    FrameChain<BrokerWork, frame_of> chain(g, embed_, tools_);
    flow::function_node<Msg, flow::continue_msg> classify(g, flow::unlimited, [&](Msg w) {
      const FrameEntry& f = frames[w->slot];
      std::vector<FaceAnswer> answers;
      run_stage(w->frame, [&](FrameWork& x) { answers = classify_faces(model_, x.result.faces); });
      out[w->slot] = results_of(f, w->frame.result, answers, worker_);
      return flow::continue_msg();
    });
    flow::make_edge(source, chain.input());
    flow::make_edge(chain.output(), classify);
    source.activate();
    g.wait_for_all();
  });
}

}  // namespace lumaflow
