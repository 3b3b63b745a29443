// Analysis graph: a store's vectors -> every number and chart the prototype only eyeballed.
//
//                ┌─▶ DBSCAN (prototype eps, suggested eps, eps sweep) ─▶ sweep chart
//   matrix ─▶ space ┼─▶ UMAP ─▶ scatter · KDE · SVM regions · atlas · trustworthiness · SVM k-fold (2-D)
//                ├─▶ t-SNE ─▶ scatter · trustworthiness
//                ├─▶ 1-NN leave-one-out · SVM k-fold (raw)
//                └─▶ held-out split: fit model, classify the rest (pca | umap2 | umapN)
//
// Independent stages run concurrently as oneTBB continue_nodes; each calls nodes/ functions
// and writes only its own part of the result, so the outcome does not depend on scheduling.
// "space" is the raw vectors up to `raw_max` points (exact parity with the prototype), else a
// PCA reduction; DBSCAN then runs on the L2-normalised PCA reconstructions, its eps sweep keeps
// at most `sweep_max_pairs` neighbour pairs, and no stage is quadratic in memory (20,000 faces:
// bench/scale_analyze.py). Writes the charts; report.json and dbscan_labels.csv are the caller's.
// This file wires; it computes nothing. A stage that throws is recorded in the report and the
// others still run (AnalysisResult::partial); stages that make no sense for a small set (fewer
// faces than folds or minPts, one person) are skipped with the reason.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "nodes/analysis/dbscan.hpp"
#include "nodes/analysis/svm.hpp"
#include "nodes/analysis/tsne.hpp"
#include "nodes/analysis/umap.hpp"
#include "nodes/model/model.hpp"
#include "nodes/store/store.hpp"

namespace lumaflow {

struct AnalysisOptions {
  DbscanOptions dbscan;                        // eps 0.5, minPts 5, L2-normalised: the prototype's
  int sweep_steps = 40;                        // eps values in the sweep (per minPts)
  int64_t sweep_max_pairs = int64_t{1} << 23;  // neighbour pairs the sweep may keep (16 B each)
  UmapOptions umap;                            // 15 neighbours, min_dist 0.1
  TsneOptions tsne;                            // perplexity 30
  SvmOptions svm;                              // C 1, gamma "scale"
  ModelOptions model;                          // held-out protocol (PCA, UMAP N-D, open set)
  int folds = 5;                               // stratified k-fold SVM
  int holdout_per_class = 0;                   // test faces per person; 0: 20 % of the smallest class (≥ 1)
  int trust_k = 10;
  int raw_max = 5000;        // above this many faces, analyse a PCA reduction
  int pca_components = 100;  // that reduction's size
  int atlas_max = 3000;      // faces drawn in the atlas (evenly sampled)
  uint64_t seed = 42;
  int threads = 0;
  std::string fail_stage;  // tests: the timed stage of this name throws (fault injection), e.g. "umap"
  bool run_dbscan = true, run_sweep = true, run_umap = true, run_tsne = true, run_svm = true, run_heldout = true,
       run_charts = true, run_atlas = true;
};

struct AnalysisResult {
  nlohmann::ordered_json report;  // everything, as written to report.json
  std::string summary;            // a few lines for stdout; starts with the DBSCAN cluster count
  std::string dbscan_labels_csv;  // index,path,folder,prototype,suggested,best ("" without DBSCAN)
  // A stage threw: report["stages"][name] = {"error": message}; every other stage and chart still
  // ran. Stages skipped for the data (too few faces or people) are {"skipped": reason}.
  bool partial = false;
};

// Runs the analysis of `store` and writes charts into out_dir (created). report.json and
// dbscan_labels.csv are written by the caller (it adds the ingest part to the report).
AnalysisResult run_analysis(const EmbeddingStore& store, const AnalysisOptions& opt,
                            const std::filesystem::path& out_dir);

}  // namespace lumaflow
