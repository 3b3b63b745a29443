#include "flow/analysis.hpp"

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task_arena.h>
#include <memory>
#include <vector>

#include "nodes/core/parallel.hpp"

namespace lumaflow {

AnalysisResult run_analysis(const EmbeddingStore& store, const AnalysisOptions& opt,
                            const std::filesystem::path& out_dir) {
  namespace flow = oneapi::tbb::flow;
  AnalysisStages stages(store, opt, out_dir);
  oneapi::tbb::task_arena arena(resolve_threads(opt.threads));
  arena.execute([&] {
    flow::graph g;
    using Node = flow::continue_node<flow::continue_msg>;
    auto node = [&](auto fn) { return std::make_unique<Node>(g, [fn](const flow::continue_msg&) { fn(); }); };
    auto prep = node([&] { stages.prepare(); });
    std::vector<std::unique_ptr<Node>> keep;
    // Each stage runs only when what it needs exists (`ready`); whatever it throws is recorded
    // under its name and never stops the others.
    auto after = [&](Node& parent, const std::string& name, auto ready, auto fn) -> Node& {
      keep.push_back(node([&stages, name, ready, fn] {
        if (!ready()) return;
        try {
          fn();
        } catch (const std::exception& e) {
          stages.fail(name, e.what());
        }
      }));
      flow::make_edge(parent, *keep.back());
      return *keep.back();
    };
    auto prepared = [&] { return stages.prepared(); };
    auto placed = [&] { return stages.placed(); };
    if (opt.run_dbscan) after(*prep, "dbscan", prepared, [&] { stages.dbscan(); });
    if (opt.run_umap) {
      Node& u = after(*prep, "umap", prepared, [&] { stages.umap(); });
      after(u, "chart_umap", placed, [&] { stages.umap_charts(); });
      after(u, "svm_kfold_umap", placed, [&] { stages.umap_svm(); });
      after(u, "chart_atlas", placed, [&] { stages.atlas(); });
    }
    if (opt.run_tsne) after(*prep, "tsne", prepared, [&] { stages.tsne(); });
    after(*prep, "classification", prepared, [&] { stages.classification(); });
    after(*prep, "heldout", prepared, [&] { stages.heldout(); });
    prep->try_put(flow::continue_msg());
    g.wait_for_all();
  });
  return stages.result();
}

}  // namespace lumaflow
