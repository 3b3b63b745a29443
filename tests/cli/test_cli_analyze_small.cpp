// analyze survives its stages: small sets run what makes sense and say why the rest was skipped;
// a stage that fails is reported (report.json "stages", one stderr line, exit code 5) while every
// other stage and chart is still written.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_util.hpp"
#include "test_util.hpp"

using namespace lumaflow;
using test::run_cli;
using test::shell_quote;
using Json = nlohmann::json;

namespace {

// counts[p] faces of person p, as PNG files under root/p<p>/.
void make_faces(const std::filesystem::path& root, const std::vector<int>& counts) {
  for (size_t p = 0; p < counts.size(); ++p)
    for (int i = 0; i < counts[p]; ++i)
      test::write_bytes(root / ("p" + std::to_string(p)) / ("f" + std::to_string(i) + ".png"),
                        test::encode(test::test_picture(40, 40, 3, 50 * p + static_cast<uint64_t>(i)), ".png"));
}

struct Outcome {
  test::CliResult cli;
  Json report;
};

Outcome analyze(const test::TempDir& dir, const std::vector<int>& counts, const std::string& extra = "") {
  make_faces(dir / "faces", counts);
  Outcome r;
  r.cli = run_cli("analyze " + shell_quote((dir / "faces").string()) + " -o " + shell_quote((dir / "out").string()) +
                  " --size 24 " + extra);
  std::ifstream in(dir / "out" / "report.json");
  if (in.good()) r.report = Json::parse(in);
  return r;
}

// No internal message of a numerical routine reaches the user.
void expect_no_internal_messages(const Outcome& r) {
  const std::string all = r.cli.out + r.cli.err + r.report.dump();
  for (const char* internal : {"stratified_folds", "k_distances", "must be in [", "RadiusNeighborhoods", "fit:"})
    EXPECT_EQ(all.find(internal), std::string::npos) << internal << " in\n" << all;
}

std::string skipped(const Outcome& r, const std::string& stage) {
  const Json& s = r.report["stages"];
  if (!s.contains(stage) || !s[stage].contains("skipped")) return {};
  return s[stage]["skipped"].get<std::string>();
}

}  // namespace

TEST(CliAnalyzeSmall, FourFacesOfTwoPeople) {
  for (const char* extra : {"", "--no-heldout"}) {
    test::TempDir dir;
    const Outcome r = analyze(dir, {2, 2}, extra);
    ASSERT_EQ(r.cli.code, 0) << extra << "\n" << r.cli.err;
    EXPECT_FALSE(r.report["partial"].get<bool>());
    expect_no_internal_messages(r);
    // 4 faces < minPts 5: no sweep; 2 faces a person: 2 folds; the held-out split leaves 2
    // training faces, fewer than a model needs.
    EXPECT_NE(skipped(r, "dbscan_sweep").find("minPts"), std::string::npos) << r.report["stages"].dump();
    EXPECT_EQ(r.report["classification"]["folds"].get<int>(), 2);
    if (std::string(extra).empty())
      EXPECT_NE(skipped(r, "heldout").find("training faces"), std::string::npos) << r.report["stages"].dump();
    else
      EXPECT_FALSE(r.report["stages"].contains("heldout"));
    for (const char* png : {"umap_576.png", "tsne_576.png"}) EXPECT_TRUE(std::filesystem::exists(dir / "out" / png));
    EXPECT_NE(r.cli.out.find("skipped dbscan_sweep: "), std::string::npos) << r.cli.out;
  }
}

TEST(CliAnalyzeSmall, APersonWithOneFaceSkipsKFoldAndNamesThePerson) {
  test::TempDir dir;
  const Outcome r = analyze(dir, {2, 2, 1});
  ASSERT_EQ(r.cli.code, 0) << r.cli.err;
  expect_no_internal_messages(r);
  EXPECT_NE(skipped(r, "svm_kfold_raw").find("'p2' has 1"), std::string::npos) << r.report["stages"].dump();
  EXPECT_NE(skipped(r, "svm_kfold_umap").find("'p2' has 1"), std::string::npos) << r.report["stages"].dump();
  EXPECT_TRUE(r.report["classification"].contains("loo_1nn_raw"));  // 1-NN still runs
}

TEST(CliAnalyzeSmall, OnePersonRunsTheUnsupervisedStagesOnly) {
  test::TempDir dir;
  const Outcome r = analyze(dir, {6});
  ASSERT_EQ(r.cli.code, 0) << r.cli.err;
  expect_no_internal_messages(r);
  for (const char* stage : {"classification", "heldout"})
    EXPECT_NE(skipped(r, stage).find("at least 2 people"), std::string::npos) << stage << r.report["stages"].dump();
  EXPECT_TRUE(r.report.contains("dbscan"));
  EXPECT_TRUE(r.report.contains("umap"));
  EXPECT_TRUE(r.report.contains("tsne"));
}

TEST(CliAnalyzeSmall, FewerFacesPerPersonThanFoldsUsesFewerFolds) {
  test::TempDir dir;
  const Outcome r = analyze(dir, {3, 3}, "--folds 5");
  ASSERT_EQ(r.cli.code, 0) << r.cli.err;
  expect_no_internal_messages(r);
  EXPECT_EQ(r.report["classification"]["folds"].get<int>(), 3);
  EXPECT_TRUE(r.report["classification"].contains("svm_kfold_raw"));
}

TEST(CliAnalyzeSmall, AFailingStageIsReportedAndTheRestIsWritten) {
  test::TempDir dir;
  const Outcome r = analyze(dir, {6, 6}, "--fail-stage umap --folds 3");
  EXPECT_EQ(r.cli.code, 5) << r.cli.err;
  // One line for the failure (the other stderr line is the embedding summary of the folder).
  EXPECT_EQ(std::count(r.cli.err.begin(), r.cli.err.end(), '\n'), 2) << r.cli.err;
  EXPECT_EQ(r.cli.err.find("lumaflow:"), r.cli.err.rfind("lumaflow:")) << r.cli.err;
  EXPECT_NE(r.cli.err.find("stage umap failed: injected failure"), std::string::npos) << r.cli.err;
  ASSERT_TRUE(r.report.is_object());
  EXPECT_TRUE(r.report["partial"].get<bool>());
  EXPECT_NE(r.report["stages"]["umap"]["error"].get<std::string>().find("injected"), std::string::npos);
  // Everything that does not need the UMAP layout is still there.
  for (const char* k : {"dbscan", "tsne", "classification"}) EXPECT_TRUE(r.report.contains(k)) << k;
  EXPECT_FALSE(r.report.contains("umap"));
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "tsne_576.png"));
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "dbscan_labels.csv"));
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "umap_576.png"));
  EXPECT_NE(r.cli.out.find("DBSCAN clusters: "), std::string::npos) << r.cli.out;
}
