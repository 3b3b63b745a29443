// Variant metrics, OpenCV reference recognizers and the `lumaflow evaluate` command.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <sstream>

#include "blobs.hpp"
#include "cli_util.hpp"
#include "nodes/measure/variants.hpp"
#include "nodes/synth/synth.hpp"
#include "test_util.hpp"

using namespace lumaflow;
using test::run_cli;
using test::shell_quote;

namespace {

// k blobs of m points in d dims: centre 10·e_c (+1 on every axis so no centre is the origin),
// Gaussian noise 0.3 — nearest neighbours are always in the own blob.
test::Blobs blobs(int k, int m, int d, uint64_t seed = 1) {
  return test::gaussian_blobs(k, m, d, 10.f, 0.3f, seed, 1.f);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

VariantOptions fast_options() {
  VariantOptions o;
  o.umap.n_epochs = 100;  // enough for a few well separated blobs; keeps the sanitizer build quick
  o.model.umap.n_epochs = 100;
  o.umap.n_neighbors = 10;
  o.threads = 2;
  return o;
}

}  // namespace

TEST(Variants, SeparatedBlobsRaw) {
  const auto [x, y] = blobs(3, 20, 8);
  const VariantMetrics m = variant_metrics(x, y, fast_options());
  EXPECT_EQ(m.faces, 60);
  EXPECT_EQ(m.people, 3);
  EXPECT_EQ(m.dims, 8);
  EXPECT_DOUBLE_EQ(m.loo_1nn, 1.0);  // every nearest neighbour is in the own blob
  EXPECT_GE(m.ari, -1.0);
  EXPECT_LE(m.ari, 1.0);
  EXPECT_GE(m.nmi, 0.0);
  EXPECT_LE(m.nmi, 1.0);
  EXPECT_GE(m.clusters, 1);
  EXPECT_GT(m.eps, 0.f);
  EXPECT_GT(m.svm_kfold, 0.95);
  EXPECT_GT(m.svm_kfold_umap2, 2.0 / 3.0);
  EXPECT_EQ(m.umap.rows(), 60);
  EXPECT_EQ(m.umap.cols(), 2);
  EXPECT_GT(m.trustworthiness, 0.8);
  EXPECT_LE(m.trustworthiness, 1.0);
  // 20 % of the smallest class (20) = 4 test faces per person.
  EXPECT_EQ(m.heldout_test, 12);
  EXPECT_EQ(m.heldout_train, 48);
  EXPECT_GT(m.heldout_pca_svm, 1.0 / 3.0);
  EXPECT_LE(m.heldout_pca_svm, 1.0);
  EXPECT_GE(m.heldout_umap2_svm, 0.0);
  EXPECT_LE(m.heldout_umap2_svm, 1.0);
}

TEST(Variants, WhitenedHasUnitVarianceComponents) {
  const auto [x, y] = blobs(3, 20, 8, 7);
  const RowMatrixF w = whiten_rows(x, 100, 42, 2);
  ASSERT_EQ(w.rows(), 60);
  ASSERT_EQ(w.cols(), 8);  // min(100, n − 1, d)
  for (int j = 0; j < w.cols(); ++j) {
    double mean = 0, var = 0;
    for (int i = 0; i < w.rows(); ++i) mean += w(i, j);
    mean /= w.rows();
    for (int i = 0; i < w.rows(); ++i) var += (w(i, j) - mean) * (w(i, j) - mean);
    var /= (w.rows() - 1);
    EXPECT_NEAR(mean, 0.0, 1e-4) << "component " << j;
    EXPECT_NEAR(var, 1.0, 1e-3) << "component " << j;
  }
  VariantOptions o = fast_options();
  o.whiten = true;
  const VariantMetrics m = variant_metrics(x, y, o);
  EXPECT_EQ(m.dims, 8);
  EXPECT_GE(m.ari, -1.0);
  EXPECT_LE(m.ari, 1.0);
  // Whitening lifts the 6 pure-noise axes to the same unit variance as the 2 that separate the blobs,
  // so 1-NN may drop; it stays a fraction.
  EXPECT_GE(m.loo_1nn, 0.0);
  EXPECT_LE(m.loo_1nn, 1.0);
}

TEST(Variants, SplitSizes) {
  const Labels y{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1};
  EXPECT_EQ(holdout_per_person(y, 0), 1);  // smallest 5 → 20 % = 1
  EXPECT_EQ(holdout_per_person(y, 3), 3);
  EXPECT_EQ(holdout_per_person(Labels{0, 0, 1}, 0), 0);  // a person with one face: no split
  VariantOptions o;
  const Split s = variant_split(y, o);
  EXPECT_EQ(s.test.size(), 2u);
  EXPECT_EQ(s.train.size(), 13u);
}

TEST(Variants, RejectsBadInput) {
  RowMatrixF x = RowMatrixF::Random(6, 3);
  EXPECT_THROW(variant_metrics(x, Labels{0, 0, 0, 0, 0, 0}, fast_options()), std::invalid_argument);  // one person
  EXPECT_THROW(variant_metrics(x, Labels{0, 1, 0, 1, -1, 1}, fast_options()), std::invalid_argument);
  EXPECT_THROW(variant_metrics(x, Labels{0, 1}, fast_options()), std::invalid_argument);
}

TEST(Variants, RecognizersOnSyntheticFaces) {
  const int side = 32, ids = 3, per = 6;
  RowMatrixF x(ids * per, side * side);
  Labels y;
  for (int p = 0; p < ids; ++p)
    for (int i = 0; i < per; ++i) {
      cv::Mat bgr = draw_face(make_identity(42, p), make_variation(42, p, i, 0.25), 96), gray, small;
      cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
      cv::resize(gray, small, cv::Size(side, side), 0, 0, cv::INTER_AREA);
      const int r = p * per + i;
      for (int k = 0; k < side * side; ++k) x(r, k) = small.data[k] / 255.0f;
      y.push_back(p);
    }
  const Split split = stratified_holdout(y, 2, 42);
  ASSERT_EQ(split.test.size(), 6u);
  for (Recognizer r : {Recognizer::eigen, Recognizer::fisher, Recognizer::lbph}) {
    const double acc = recognizer_accuracy(r, x, side, y, split);
    EXPECT_GE(acc, 0.0) << recognizer_name(r);
    EXPECT_LE(acc, 1.0) << recognizer_name(r);
    EXPECT_GT(acc, 1.0 / ids) << recognizer_name(r) << " no better than chance";
  }
  EXPECT_THROW(recognizer_accuracy(Recognizer::eigen, x, side + 1, y, split), std::invalid_argument);
  EXPECT_TRUE(std::isnan(recognizer_accuracy(Recognizer::lbph, x, side, y, Split{})));
}

TEST(EvaluateCli, AsisOnSyntheticFolder) {
  test::TempDir dir;
  SynthOptions so;
  so.identities = 3;
  so.per = 8;
  so.size = 64;
  so.variation = 0.25;
  write_synthetic_set(dir / "set", so, 2);
  const auto out = dir / "out";
  const auto r = run_cli("evaluate " + shell_quote((dir / "set").string()) + " -o " + shell_quote(out.string()) +
                         " --size 24 --threads 2 --variants asis");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string md = read_file(out / "evaluation.md");
  EXPECT_NE(md.find("| asis | 24/24 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| asis+whiten | 24/24 |"), std::string::npos) << md;
  for (const char* ref : {"OpenCV eigenfaces (asis)", "OpenCV fisherfaces (asis)", "OpenCV lbph (asis)"})
    EXPECT_NE(md.find(ref), std::string::npos) << ref;
  EXPECT_NE(md.find("What this says"), std::string::npos);
  const auto j = nlohmann::json::parse(read_file(out / "evaluation.json"));
  ASSERT_EQ(j["variants"].size(), 2u);
  EXPECT_EQ(j["variants"][0]["name"], "asis");
  EXPECT_EQ(j["variants"][0]["faces_kept"], 24);
  EXPECT_EQ(j["variants"][1]["dims"], 23);  // whitened: min(100, n − 1)
  const double nn = j["variants"][0]["loo_1nn"].get<double>();
  EXPECT_GE(nn, 0.0);
  EXPECT_LE(nn, 1.0);
  ASSERT_EQ(j["references"].size(), 3u);
  for (const auto& ref : j["references"]) {
    EXPECT_EQ(ref["test"], 3);  // 20 % of 8 → 1 per person
    EXPECT_GE(ref["heldout_accuracy"].get<double>(), 0.0);
  }
  EXPECT_TRUE(std::filesystem::exists(out / "umap_asis.png"));
  EXPECT_TRUE(std::filesystem::exists(out / "umap_asis+whiten.png"));

  const auto bad = run_cli("evaluate " + shell_quote((dir / "set").string()) + " -o " + shell_quote(out.string()) +
                           " --variants asis,sideways");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("sideways"), std::string::npos) << bad.err;
}

TEST(EvaluateCli, AllVariantsOnTvshow) {
  LUMAFLOW_REQUIRE_DATA(tv, "tvshow");
  test::TempDir dir;
  const auto out = dir / "out";
  const auto r =
      run_cli("evaluate " + shell_quote(tv.string()) + " -o " + shell_quote(out.string()) + " --size 32 --threads 2");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string md = read_file(out / "evaluation.md");
  for (const char* v : {"| asis |", "| asis+whiten |", "| align |", "| align+whiten |", "| align+equalize |",
                        "| align+equalize+whiten |", "OpenCV lbph (align)"})
    EXPECT_NE(md.find(v), std::string::npos) << v << "\n" << md;
  const auto j = nlohmann::json::parse(read_file(out / "evaluation.json"));
  // The learned rows come too when the weights are installed (always in CI).
  const bool weights = md.find("| resnet |") != std::string::npos;
  if (!weights && std::getenv("CI") && std::string(std::getenv("CI")) == "true")
    FAIL() << "CI=true and evaluate has no resnet rows:\n" << r.err;
  EXPECT_EQ(j["variants"].size(), weights ? 8u : 6u);
  EXPECT_EQ(j["references"].size(), 6u);
  EXPECT_EQ(j["variants"][0]["faces_kept"], 40);
  if (weights) {
    // The bar for the learned embedding on tvshow: LOO 1-NN ≥ 0.95, held-out ≥ 0.9.
    for (const auto& v : j["variants"]) {
      if (v["name"] != "resnet") continue;
      EXPECT_GE(v["loo_1nn"].get<double>(), 0.95) << v.dump();
      EXPECT_GE(v["heldout"]["pca_svm"].get<double>(), 0.9) << v.dump();
    }
  }
}
