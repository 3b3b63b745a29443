// Analysis graph: a store's vectors -> every number and chart the prototype only eyeballed.
//
//                ┌─▶ DBSCAN (prototype eps, suggested eps, eps sweep) ─▶ sweep chart
//   matrix ─▶ space ┼─▶ UMAP ─▶ scatter · KDE · SVM regions · atlas · trustworthiness · SVM k-fold (2-D)
//                ├─▶ t-SNE ─▶ scatter · trustworthiness
//                ├─▶ 1-NN leave-one-out · SVM k-fold (raw)
//                └─▶ held-out split: fit model, classify the rest (pca | umap2 | umapN)
//
// Independent stages run concurrently as oneTBB continue_nodes; each calls one stage of
// nodes/measure/stages.hpp, which writes only its own part of the result, so the outcome does not
// depend on scheduling.
// "space" is the raw vectors up to `raw_max` points (exact parity with the prototype), else a
// PCA reduction; DBSCAN then runs on the L2-normalised PCA reconstructions, its eps sweep keeps
// at most `sweep_max_pairs` neighbour pairs, and no stage is quadratic in memory (20,000 faces:
// bench/scale_analyze.py). Writes the charts; report.json and dbscan_labels.csv are the caller's.
// This file wires; it computes nothing. A stage that throws is recorded in the report and the
// others still run (AnalysisResult::partial); stages that make no sense for a small set (fewer
// faces than folds or minPts, one person) are skipped with the reason.
#pragma once

#include <filesystem>

#include "nodes/measure/stages.hpp"

namespace lumaflow {

// Runs the analysis of `store` and writes charts into out_dir (created). report.json and
// dbscan_labels.csv are written by the caller (it adds the ingest part to the report).
AnalysisResult run_analysis(const EmbeddingStore& store, const AnalysisOptions& opt,
                            const std::filesystem::path& out_dir);

}  // namespace lumaflow
