#include "flow/ingest.hpp"

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task_arena.h>
#include <atomic>
#include <chrono>
#include <exception>
#include <memory>

#include "flow/frames.hpp"
#include "nodes/core/parallel.hpp"

namespace lumaflow {
namespace {
FrameWork& frame_of(FrameWork& w) { return w; }
}  // namespace

void run_ingest(const std::vector<ScanEntry>& entries, const IngestOptions& opt, const FaceTools* tools,
                const std::function<void(FrameResult&&)>& sink) {
  namespace flow = oneapi::tbb::flow;
  using Msg = std::shared_ptr<FrameWork>;
  const int threads = resolve_threads(opt.threads);
  const size_t in_flight = static_cast<size_t>(opt.max_in_flight > 0 ? opt.max_in_flight : 4 * threads);
  std::exception_ptr sink_error;
  std::atomic<bool> stopping{false};

  oneapi::tbb::task_arena arena(threads);
  arena.execute([&] {
    flow::graph g;
    size_t next = 0;
    // input_node buffers the item the limiter rejects, so nothing is dropped at the gate.
    flow::input_node<Msg> source(g, [&](oneapi::tbb::flow_control& fc) -> Msg {
      if (next >= entries.size() || stopping.load(std::memory_order_relaxed)) {
        fc.stop();
        return {};
      }
      auto w = std::make_shared<FrameWork>();
      w->result.seq = next;
      w->result.entry = entries[next];
      ++next;
      return w;
    });
    flow::limiter_node<Msg, int> gate(g, in_flight);
    FrameChain<FrameWork, frame_of> chain(g, opt.embed, tools);
    flow::sequencer_node<Msg> order(g, [](const Msg& w) { return static_cast<size_t>(w->result.seq); });
    flow::function_node<Msg, int> write(g, flow::serial, [&](Msg w) {
      if (!sink_error) {
        try {
          sink(std::move(w->result));
        } catch (...) {
          sink_error = std::current_exception();
          stopping = true;
        }
      }
      w.reset();
      return 1;  // one frame left the graph: let the next one in
    });
    flow::make_edge(source, gate);
    flow::make_edge(gate, chain.input());
    flow::make_edge(chain.output(), order);
    flow::make_edge(order, write);
    flow::make_edge(write, gate.decrementer());
    source.activate();
    g.wait_for_all();
  });
  if (sink_error) std::rethrow_exception(sink_error);
}

StoreHeader make_header(const IngestOptions& opt, const std::vector<std::string>& labels) {
  return make_header(opt.embed.preprocessing(), labels);
}

namespace {

// Shared by both ingest flavours: turns frame results into records for `add`.
template <class Add>
IngestSummary ingest_with(const std::filesystem::path& root, const IngestOptions& opt, const FaceTools* tools,
                          const Progress& progress, const std::function<void(const ScanResult&)>& on_scan, Add&& add) {
  const auto t0 = std::chrono::steady_clock::now();
  const ScanResult scan = scan_directory(root);
  on_scan(scan);
  IngestSummary sum;
  sum.frames = scan.entries.size();
  sum.labels = scan.labels;
  sum.skipped = scan.problems;
  sum.unsupported = scan.unsupported;
  size_t done = 0;
  run_ingest(scan.entries, opt, tools, [&](FrameResult&& r) {
    ++done;
    if (!r.ok()) {
      sum.skipped.push_back({r.entry.path.string(), r.error});
    } else if (r.faces.empty()) {
      ++sum.no_face_frames;
    } else {
      ++sum.embedded_frames;
      for (auto& f : r.faces) {
        add(record_info(r, f), f);
        ++sum.faces;
      }
    }
    if (progress) progress(done, scan.entries.size());
  });
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return sum;
}

}  // namespace

IngestSummary ingest_to_file(const std::filesystem::path& root, const std::filesystem::path& out,
                             const IngestOptions& opt, const FaceTools* tools, const Progress& progress) {
  std::unique_ptr<StoreWriter> writer;
  IngestSummary sum = ingest_with(
      root, opt, tools, progress,
      [&](const ScanResult& scan) { writer = std::make_unique<StoreWriter>(out, make_header(opt, scan.labels)); },
      [&](RecordInfo&& info, const FaceCrop& f) { add_face(*writer, std::move(info), f); });
  writer->commit();
  return sum;
}

EmbeddingStore ingest_to_memory(const std::filesystem::path& root, const IngestOptions& opt, const FaceTools* tools,
                                IngestSummary* summary, const Progress& progress) {
  EmbeddingStore store;
  IngestSummary sum = ingest_with(
      root, opt, tools, progress,
      [&](const ScanResult& scan) { store = EmbeddingStore(make_header(opt, scan.labels)); },
      [&](RecordInfo&& info, const FaceCrop& f) { add_face(store, std::move(info), f); });
  if (summary) *summary = std::move(sum);
  return store;
}

}  // namespace lumaflow
