// lumaflow analyze: the prototype's whole job (DBSCAN count, t-SNE, UMAP, KDE, SVM regions) plus
// the numbers it never measured, in one command.
#include <chrono>
#include <iostream>

#include "flow/analysis.hpp"
#include "nodes/serve/report.hpp"
#include "tools/cli_common.hpp"
#include "tools/commands.hpp"

namespace lumaflow::cli {
namespace {

struct AnalyzeArgs {
  std::string input, output = "analysis";
  EmbedFlags flags;
  AnalysisOptions opt;
  bool no_dbscan = false, no_sweep = false, no_umap = false, no_tsne = false, no_svm = false, no_heldout = false,
       no_charts = false, no_atlas = false, no_normalize = false;
  int chart_size = 0;
  std::string web;  // --web DIR: where the report's plotting library is
};

// Some stage failed; report.json and every other chart were written (README: exit codes).
constexpr int kExitPartial = 5;

int run_analyze(AnalyzeArgs a) {
  const auto t0 = std::chrono::steady_clock::now();
  double embed_seconds = 0;
  const EmbeddingStore store = load_input(a.input, a.flags, &embed_seconds);
  AnalysisOptions& o = a.opt;
  o.run_dbscan = !a.no_dbscan;
  o.run_sweep = !a.no_sweep;
  o.run_umap = !a.no_umap;
  o.run_tsne = !a.no_tsne;
  o.run_svm = !a.no_svm;
  o.run_heldout = !a.no_heldout;
  o.run_charts = !a.no_charts;
  o.run_atlas = !a.no_atlas;
  o.dbscan.normalize = !a.no_normalize;
  o.threads = a.flags.threads;
  AnalysisResult r = run_analysis(store, o, a.output);
  r.report["input"] = {{"path", a.input}, {"embed_or_load_seconds", embed_seconds}};
  r.report["total_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_text_file(std::filesystem::path(a.output) / "report.json", r.report.dump(2) + "\n");
  if (!r.dbscan_labels_csv.empty())
    write_text_file(std::filesystem::path(a.output) / "dbscan_labels.csv", r.dbscan_labels_csv);
  ReportOptions ro;
  ro.web_dir = find_web_dir(a.web);
  ro.max_thumbnails = static_cast<size_t>(std::max(1, o.atlas_max));
  if (!write_report_html(a.output, store, r, ro))
    std::cerr << "lumaflow: warning: report.html has no interactive charts: " << (ro.web_dir / kEchartsFile).string()
              << " not found (tools/setup.sh fetches it; --web DIR or LUMAFLOW_WEB point elsewhere)\n";
  std::cout << r.summary << "report and charts: " << a.output << "/ (report.json, report.html";
  if (!r.dbscan_labels_csv.empty()) std::cout << ", dbscan_labels.csv";
  for (const auto& c : r.report["charts"]) std::cout << ", " << c.get<std::string>();
  std::cout << ")\n";
  for (const auto& [name, v] : r.report["stages"].items()) {
    if (v.contains("error"))
      std::cerr << "lumaflow: analyze: stage " << name << " failed: " << v["error"].get<std::string>() << "\n";
    else
      std::cout << "skipped " << name << ": " << v["skipped"].get<std::string>() << "\n";
  }
  return r.partial ? kExitPartial : 0;
}

}  // namespace

void register_analyze_command(CLI::App& app, Registry& reg) {
  auto a = std::make_shared<AnalyzeArgs>();
  auto* c = app.add_subcommand("analyze",
                               "DBSCAN, UMAP, t-SNE, SVM, quality metrics and charts of a face folder or store "
                               "(the prototype's flags -id -is -os -ou are accepted)");
  c->footer(
      "Exit codes: 0 every stage ran (stages skipped for a small set are listed with the reason); 1 error; "
      "2 bad command line; 5 partial: a stage failed - named on stderr and in report.json \"stages\" - and every "
      "other stage and chart was still written.");
  c->add_option("INPUT,--input-dir", a->input, "Face folder (DIR/<person>/<image>) or store file")->required();
  c->add_option("-o,--output", a->output, "Output folder for charts and report.json")->capture_default_str();
  a->flags.add_to(*c);
  c->add_option("--eps", a->opt.dbscan.eps, "DBSCAN eps (on L2-normalised vectors)")
      ->check(between(1e-6, 1e6, false))
      ->capture_default_str();
  c->add_option("--min-pts", a->opt.dbscan.min_pts, "DBSCAN minPts (counts the point itself)")
      ->check(between(1, 100000))
      ->capture_default_str();
  c->add_flag("--no-normalize", a->no_normalize, "DBSCAN on raw vectors instead of L2-normalised ones");
  c->add_option("--perplexity", a->opt.tsne.perplexity, "t-SNE perplexity")
      ->check(between(1, 1000, false))
      ->capture_default_str();
  add_umap_options(*c, a->opt.umap);
  c->add_option("--seed", a->opt.seed, "Seed of every random choice")->capture_default_str();
  c->add_option("--web", a->web,
                "Folder holding echarts.min.js for report.html (default $LUMAFLOW_WEB, else the set-up's web/)");
  c->add_option("--folds", a->opt.folds, "Stratified k-fold count for SVM accuracy")
      ->check(CLI::Range(2, 100))
      ->capture_default_str();
  c->add_option("--holdout", a->opt.holdout_per_class, "Held-out faces per person (0 = 20 % of the smallest class)")
      ->check(between(0, 100000));
  c->add_option("--pca", a->opt.model.pca_components, "PCA components of the held-out model")
      ->check(between(2, 4096))
      ->capture_default_str();
  c->add_option("--raw-max", a->opt.raw_max, "Above this many faces analyse a PCA reduction instead of raw vectors")
      ->check(between(4, 1e9))
      ->capture_default_str();
  c->add_option("--reduce-to", a->opt.pca_components, "Components of that PCA reduction")
      ->check(CLI::Range(2, 100000))
      ->capture_default_str();
  c->add_option("--sweep-max-pairs", a->opt.sweep_max_pairs,
                "Neighbour pairs the eps sweep may keep (16 bytes each); past it the sweep's top eps is lowered")
      ->check(CLI::Range(int64_t{1000}, int64_t{1} << 40))
      ->capture_default_str();
  c->add_option("--fail-stage", a->opt.fail_stage, "Testing: make this stage fail (exit code 5 path)")->group("");
  c->add_flag("--no-dbscan", a->no_dbscan, "Skip DBSCAN");
  c->add_flag("--no-sweep", a->no_sweep, "Skip the eps sweep");
  c->add_flag("--no-umap", a->no_umap, "Skip UMAP (and its charts)");
  c->add_flag("--no-tsne", a->no_tsne, "Skip t-SNE");
  c->add_flag("--no-svm", a->no_svm, "Skip SVM accuracy and regions");
  c->add_flag("--no-heldout", a->no_heldout, "Skip the held-out model score");
  c->add_flag("--no-charts", a->no_charts, "Write no charts");
  c->add_flag("--no-atlas", a->no_atlas, "Skip the face atlas");
  reg.emplace_back(c, [a] { return run_analyze(*a); });
}

}  // namespace lumaflow::cli
