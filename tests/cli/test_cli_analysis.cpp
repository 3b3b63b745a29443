// End to end: synth -> analyze -> fit -> classify through the real binary.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <set>
#include <sstream>

#include "cli_util.hpp"
#include "test_util.hpp"

using namespace lumaflow;
using test::run_cli;
using test::shell_quote;

namespace {

// `lumaflow synth DIR/faces SYNTH_ARGS`, then `lumaflow analyze DIR/faces -o DIR/out ANALYZE_ARGS`:
// the result of analyze, or of synth when that failed.
test::CliResult synth_then_analyze(const test::TempDir& dir, const std::string& synth_args,
                                   const std::string& analyze_args) {
  const std::string faces = (dir / "faces").string();
  const test::CliResult s = run_cli("synth " + shell_quote(faces) + " " + synth_args);
  if (s.code != 0) return s;
  return run_cli("analyze " + shell_quote(faces) + " -o " + shell_quote((dir / "out").string()) + " " + analyze_args);
}

}  // namespace

TEST(CliAnalysis, SynthAnalyzeFitClassify) {
  test::TempDir dir;
  const std::string faces = (dir / "faces").string(), out = (dir / "out").string();
  auto r = run_cli("synth " + shell_quote(faces) + " --identities 4 --per 10 --size 96 --seed 3 --variation 0.3");
  ASSERT_EQ(r.code, 0) << r.err;
  r = run_cli("analyze -id " + shell_quote(faces) + " -ou " + shell_quote(out) + " --size 48 --folds 3 --seed 5");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("DBSCAN clusters: ", 0), 0u) << r.out;  // the prototype's first line
  std::ifstream in(dir / "out" / "report.json");
  ASSERT_TRUE(in.good());
  const auto rep = nlohmann::json::parse(in);
  EXPECT_EQ(rep["vectors"]["count"].get<int>(), 40);
  EXPECT_EQ(rep["vectors"]["dims"].get<int>(), 48 * 48);
  for (const char* k : {"dbscan", "umap", "tsne", "classification", "heldout", "seconds"})
    EXPECT_TRUE(rep.contains(k)) << k;
  EXPECT_GE(rep["dbscan"]["sweep"].size(), 40u);
  const double trust = rep["umap"]["trustworthiness"].get<double>();
  EXPECT_GT(trust, 0.5);
  EXPECT_LE(trust, 1.0);
  for (const char* png : {"tsne_2304.png", "umap_2304.png", "umap_2304_kde.png", "umap_svm_boundaries.png", "atlas.png",
                          "dbscan_eps_sweep.png"}) {
    const cv::Mat img = cv::imread((dir / "out" / png).string());
    EXPECT_FALSE(img.empty()) << png;
  }
  // Per-face DBSCAN labels, in store order, agreeing with the report's counts.
  {
    std::ifstream csv(dir / "out" / "dbscan_labels.csv");
    std::string line;
    ASSERT_TRUE(std::getline(csv, line));
    EXPECT_EQ(line, "index,path,folder,prototype,suggested,best");
    int rows = 0, noise = 0;
    std::set<int> clusters;
    while (std::getline(csv, line)) {
      const int suggested = std::stoi(line.substr(line.find_last_of(',', line.find_last_of(',') - 1) + 1));
      noise += suggested == -1;
      if (suggested >= 0) clusters.insert(suggested);
      EXPECT_NE(line.find("person_0"), std::string::npos) << line;
      ++rows;
    }
    EXPECT_EQ(rows, 40);
    EXPECT_EQ(static_cast<int>(clusters.size()), rep["dbscan"]["suggested"]["clusters"].get<int>());
    EXPECT_NEAR(noise / 40.0, rep["dbscan"]["suggested"]["noise_fraction"].get<double>(), 1e-4);
  }
  // Fit on the same folder, classify two of its images.
  const std::string model = (dir / "f.model").string();
  r = run_cli("fit " + shell_quote(faces) + " -o " + shell_quote(model) + " --size 48 --pca 20");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("held-out accuracy"), std::string::npos) << r.err;
  const auto annotated = dir / "annotated";
  r = run_cli("classify " + shell_quote(model) + " " + shell_quote(faces + "/person_01/img_003.png") + " " +
              shell_quote(faces + "/person_02") + " --annotate " + shell_quote(annotated.string()));
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  int n = 0, named_right = 0;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    for (const char* k : {"path", "label", "confidence", "status", "umap", "neighbors", "ms"})
      EXPECT_TRUE(j.contains(k)) << k;
    EXPECT_EQ(j["umap"].size(), 2u);
    // Training faces: each is its own nearest neighbour, so its folder's person comes back.
    const std::string path = j["path"].get<std::string>();
    const std::string person = path.find("person_01") != std::string::npos ? "person_01" : "person_02";
    EXPECT_EQ(j["candidate"], person) << line;
    named_right += j["status"] == "known" && j["label"] == person;
    ++n;
  }
  EXPECT_EQ(n, 11);
  EXPECT_GE(named_right, 10);
  // --annotate: one PNG per input frame, the frame's own size.
  int pngs = 0;
  for (const auto& e : std::filesystem::directory_iterator(annotated)) {
    const cv::Mat img = cv::imread(e.path().string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(img.empty()) << e.path();
    const cv::Mat src = cv::imread(faces + "/person_01/img_003.png", cv::IMREAD_COLOR);
    EXPECT_EQ(img.size(), src.size()) << e.path();
    ++pngs;
  }
  EXPECT_EQ(pngs, 11);
  EXPECT_NE(r.err.find("accuracy against folder names"), std::string::npos) << r.err;
  // CSV alternative, and a model refusing input prepared another way.
  r = run_cli("classify --format csv " + shell_quote(model) + " " + shell_quote(faces + "/person_01/img_003.png"));
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("path,face,label", 0), 0u) << r.out;
  r = run_cli("classify --faces align " + shell_quote(model) + " " + shell_quote(faces + "/person_01/img_003.png"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--faces asis"), std::string::npos) << r.err;
  // A damaged model is refused with one line.
  test::write_text(dir / "bad.model", "not a model at all, not at all");
  r = run_cli("classify " + shell_quote((dir / "bad.model").string()) + " " + shell_quote(faces));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("bad.model"), std::string::npos) << r.err;
}

TEST(CliAnalysis, SkipsStagesOnRequest) {
  test::TempDir dir;
  const auto r = synth_then_analyze(dir, "--identities 3 --per 6 --size 64",
                                    "--size 32 --no-tsne --no-heldout --no-atlas --no-sweep --folds 2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "tsne_1024.png"));
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "atlas.png"));
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "umap_1024.png"));
}

// Past --raw-max the analysis runs in a PCA space and DBSCAN on the normalised PCA
// reconstructions; the sweep keeps no more pairs than --sweep-max-pairs allows (its top eps is
// lowered and the report says so), and every stage still reports.
TEST(CliAnalysis, LargeSetPathKeepsMemoryBounded) {
  test::TempDir dir;
  const auto r =
      synth_then_analyze(dir, "--identities 5 --per 24 --size 64 --seed 9",
                         "--size 32 --raw-max 50 --reduce-to 12 --sweep-max-pairs 1000 --folds 3 --no-charts");
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(dir / "out" / "report.json");
  const auto rep = nlohmann::json::parse(in);
  EXPECT_EQ(rep["vectors"]["count"].get<int>(), 120);
  EXPECT_EQ(rep["vectors"]["analysis_space"].get<std::string>(), "pca12");
  EXPECT_EQ(rep["dbscan"]["prototype"]["space"].get<std::string>(), "reconstructions from pca12");
  EXPECT_TRUE(rep["dbscan"]["sweep_capped_by_pair_budget"].get<bool>());
  const int64_t kept = rep["dbscan"]["sweep_pairs_kept"].get<int64_t>();
  EXPECT_GT(kept, 300);  // an estimate: within a small factor of the budget, far below 7,140 pairs
  EXPECT_LT(kept, 3000);
  const double top = rep["dbscan"]["sweep_max_eps"].get<double>();
  for (const auto& row : rep["dbscan"]["sweep"]) EXPECT_LE(row["eps"].get<double>(), top + 1e-6);
  EXPECT_FALSE(rep["heldout"].contains("raw_1nn"));  // O(n²·d): skipped past raw_max
  EXPECT_TRUE(rep["heldout"].contains("pca_1nn"));
  EXPECT_TRUE(rep["classification"].contains("svm_kfold_pca12"));
  for (const char* stage : {"space", "dbscan", "dbscan_sweep", "umap", "tsne", "heldout"})
    EXPECT_TRUE(rep["seconds"].contains(stage)) << stage;
}
