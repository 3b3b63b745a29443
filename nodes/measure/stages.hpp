// Analysis stages: the bodies of `analyze` — every number and chart the prototype only eyeballed.
//
// AnalysisStages holds one analysis of a store: prepare() builds the analysis space (the raw
// vectors up to raw_max faces, else a PCA reduction); each other stage reads it and writes only
// its own part of the result (DBSCAN + eps sweep, UMAP + its charts + SVM k-fold in 2-D + atlas,
// t-SNE, raw classification, held-out), so independent stages may run concurrently (flow/analysis
// wires them as a oneTBB graph; a plain loop calling them in order gives the same result). A stage
// that throws is recorded under its name (report "stages", partial) and the others go on; stages
// that make no sense for a small set are skipped with the reason. result() gathers report.json's
// analysis part and the stdout summary. No TBB here.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "nodes/analysis/dbscan.hpp"
#include "nodes/analysis/knn.hpp"
#include "nodes/analysis/svm.hpp"
#include "nodes/analysis/tsne.hpp"
#include "nodes/analysis/umap.hpp"
#include "nodes/model/model.hpp"
#include "nodes/store/store.hpp"

#include <memory>

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
  std::string fail_stage;    // tests: the timed stage of this name throws (fault injection), e.g. "umap"
  int report_neighbors = 5;  // nearest neighbours per face in the face map (report.html); 0: none
  bool run_dbscan = true, run_sweep = true, run_umap = true, run_tsne = true, run_svm = true, run_heldout = true,
       run_charts = true, run_atlas = true;
};

// Per face, what report.html draws (store order): its 2-D UMAP place, its nearest neighbours in
// the analysis space, its DBSCAN clusters, and the held-out mistakes (store indices).
struct FaceMap {
  RowMatrixF umap;        // n × 2; empty without UMAP
  IndexMatrix neighbors;  // n × k, nearest first, itself excluded; empty when not computed
  std::vector<std::pair<std::string, Labels>> clusters;  // "prototype", "suggested", "best" eps
  struct Mistake {
    size_t face = 0, shown = 0;  // the test face; the predicted person's training face nearest to it
    int truth = 0, predicted = 0;
    bool unknown = false;
  };
  std::vector<Mistake> mistakes;
};

struct AnalysisResult {
  nlohmann::ordered_json report;  // everything, as written to report.json
  std::string summary;            // a few lines for stdout; starts with the DBSCAN cluster count
  std::string dbscan_labels_csv;  // index,path,folder,prototype,suggested,best ("" without DBSCAN)
  // A stage threw: report["stages"][name] = {"error": message}; every other stage and chart still
  // ran. Stages skipped for the data (too few faces or people) are {"skipped": reason}.
  bool partial = false;
  FaceMap faces;
};

class AnalysisStages {
 public:
  // Throws std::invalid_argument for fewer than 4 faces; creates out_dir (charts go there).
  AnalysisStages(const EmbeddingStore& store, const AnalysisOptions& opt, const std::filesystem::path& out_dir);
  ~AnalysisStages();
  AnalysisStages(const AnalysisStages&) = delete;
  AnalysisStages& operator=(const AnalysisStages&) = delete;

  void prepare();
  bool prepared() const;  // the analysis space exists
  bool placed() const;    // the 2-D UMAP exists
  void dbscan();
  void umap();
  void umap_charts();
  void umap_svm();
  void atlas();
  void tsne();
  void classification();
  void heldout();
  // Records a stage that threw outside the stages' own timing (report "stages": {name: {error}}).
  void fail(const std::string& stage, const std::string& what);

  AnalysisResult result() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lumaflow
