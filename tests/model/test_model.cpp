#include <gtest/gtest.h>

#include <random>

#include "classifications.hpp"
#include "flow/ingest.hpp"
#include "nodes/measure/heldout.hpp"
#include "nodes/model/model.hpp"
#include "test_util.hpp"

using namespace lumaflow;

namespace {

// k Gaussian blobs in d dimensions, values kept in [0, 1] like pixels.
void blobs(int k, int per, int d, uint64_t seed, RowMatrixF& x, Labels& y, float spread = 0.03f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.2f, 0.8f);
  std::normal_distribution<float> g(0.f, spread);
  RowMatrixF centres(k, d);
  for (Eigen::Index i = 0; i < centres.size(); ++i) centres.data()[i] = u(rng);
  x.resize(k * per, d);
  y.clear();
  for (int c = 0; c < k; ++c)
    for (int p = 0; p < per; ++p) {
      for (int j = 0; j < d; ++j) x(c * per + p, j) = centres(c, j) + g(rng);
      y.push_back(c);
    }
}

ModelOptions small_options() {
  ModelOptions o;
  o.pca_components = 20;
  o.umap.n_neighbors = 8;
  o.umap.n_epochs = 100;
  o.threads = 2;
  return o;
}

}  // namespace

TEST(Model, ClassifiesHeldOutBlobsInEverySpace) {
  RowMatrixF x;
  Labels y;
  blobs(6, 14, 256, 1, x, y);
  const Split split = stratified_holdout(y, 3, 42);
  const HeldoutScores h = heldout_scores(x, y, split, small_options());
  EXPECT_EQ(h.test, 18);
  EXPECT_GE(h.pca.accuracy, 0.95);
  EXPECT_GE(h.raw_1nn, 0.95);
  EXPECT_GE(h.umapn.closed_accuracy, 0.9);
  EXPECT_LE(h.pca.unknown_rate, 0.1);  // the open set must not eat known faces
}

TEST(Model, OneFaceAloneEqualsTheSameFaceInABatch) {
  RowMatrixF x;
  Labels y;
  blobs(4, 10, 128, 2, x, y);
  const FittedModel m = fit_model(x, y, small_options());
  RowMatrixF q;
  Labels qy;
  blobs(4, 3, 128, 2, q, qy);  // same centres (same seed), new draws
  q.array() += 0.01f;
  const auto batch = classify(m, q, 2);
  for (Eigen::Index i = 0; i < q.rows(); ++i) {
    const auto one = classify(m, q.row(i), 1).front();
    EXPECT_EQ(one.label, batch[static_cast<size_t>(i)].label);
    EXPECT_EQ(one.umap_x, batch[static_cast<size_t>(i)].umap_x);
    EXPECT_EQ(one.umap_y, batch[static_cast<size_t>(i)].umap_y);
    EXPECT_EQ(one.confidence, batch[static_cast<size_t>(i)].confidence);
  }
}

TEST(Model, FarAwayFaceIsUnknownAndTrainingFacesAreKnown) {
  RowMatrixF x;
  Labels y;
  blobs(4, 12, 128, 3, x, y);
  const FittedModel m = fit_model(x, y, small_options());
  const auto train = classify(m, x, 2);
  int known = 0;
  for (const auto& c : train) known += c.known;
  EXPECT_EQ(known, x.rows());
  RowMatrixF stranger;
  Labels sy;
  blobs(1, 3, 128, 99, stranger, sy);  // another person entirely
  for (const auto& c : classify(m, stranger, 1))
    EXPECT_FALSE(c.known) << "nearest " << c.nearest << " threshold " << m.open_set_threshold;
}

TEST(Model, SaveLoadRoundTripGivesIdenticalAnswers) {
  test::TempDir dir;
  RowMatrixF x;
  Labels y;
  blobs(3, 10, 64, 4, x, y);
  ModelOptions o = small_options();
  o.space = ClassifySpace::umapN;
  FittedModel m = fit_model(x, y, o);
  m.labels = {"a", "b", "c"};
  m.prep.image_size = 8;  // 64-d vectors
  save_model(dir / "m.model", m);
  EXPECT_FALSE(std::filesystem::exists(dir / "m.model.tmp"));
  const FittedModel back = load_model(dir / "m.model");
  EXPECT_EQ(back.labels, m.labels);
  EXPECT_EQ(back.space, ClassifySpace::umapN);
  EXPECT_FLOAT_EQ(back.open_set_frr, 0.02f);  // the stated rate and what the folds measured travel along
  EXPECT_EQ(back.open_set_cv_frr, m.open_set_cv_frr);
  EXPECT_GE(m.open_set_cv_frr, 0.f);
  EXPECT_EQ(back.open_set_ratio, m.open_set_ratio);
  test::expect_same_classifications(classify(m, x, 1), classify(back, x, 1));
}

TEST(Model, ManyPeopleVoteAmongAShortlistChosenByFitAndSaved) {
  test::TempDir dir;
  RowMatrixF x;
  Labels y;
  blobs(kShortlistFrom + 6, 4, 49, 7, x, y);
  const Split split = stratified_holdout(y, 1, 42);
  RowMatrixF train(static_cast<Eigen::Index>(split.train.size()), x.cols()),
      test(static_cast<Eigen::Index>(split.test.size()), x.cols());
  Labels ytrain, ytest;
  for (size_t i = 0; i < split.train.size(); ++i) {
    train.row(static_cast<Eigen::Index>(i)) = x.row(split.train[i]);
    ytrain.push_back(y[static_cast<size_t>(split.train[i])]);
  }
  for (size_t i = 0; i < split.test.size(); ++i) {
    test.row(static_cast<Eigen::Index>(i)) = x.row(split.test[i]);
    ytest.push_back(y[static_cast<size_t>(split.test[i])]);
  }
  ModelOptions o = small_options();
  FittedModel m = fit_model(train, ytrain, o);
  EXPECT_EQ(m.shortlist, kShortlistPeople);  // past kShortlistFrom people, by size
  o.shortlist = 0;
  const FittedModel all = fit_model(train, ytrain, o);
  EXPECT_EQ(all.shortlist, 0);
  const auto a = classify(m, test, 2), b = classify(all, test, 2);
  int right_short = 0, right_all = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    right_short += a[i].label == ytest[i];
    right_all += b[i].label == ytest[i];
    EXPECT_EQ(a[i].nearest, b[i].nearest);  // only the vote differs
  }
  EXPECT_GE(right_all, static_cast<int>(0.9 * static_cast<double>(a.size())));
  EXPECT_GE(right_short, right_all - 1);
  // The shortlist travels with the model.
  m.labels.assign(kShortlistFrom + 6, "p");
  m.prep.image_size = 7;  // 49-d vectors
  save_model(dir / "many.model", m);
  const FittedModel back = load_model(dir / "many.model");
  EXPECT_EQ(back.shortlist, kShortlistPeople);
  test::expect_same_classifications(a, classify(back, test, 2));
  // Small sets keep the full vote.
  blobs(5, 6, 49, 8, x, y);
  EXPECT_EQ(fit_model(x, y, small_options()).shortlist, 0);
}

TEST(Model, DamagedModelFilesAreRefused) {
  test::TempDir dir;
  RowMatrixF x;
  Labels y;
  blobs(3, 8, 64, 5, x, y);
  FittedModel m = fit_model(x, y, small_options());
  m.labels = {"a", "b", "c"};
  m.prep.image_size = 8;
  save_model(dir / "m.model", m);
  const auto good = test::read_all(dir / "m.model");
  auto truncated = good;
  truncated.resize(good.size() / 2);
  test::write_bytes(dir / "t.model", truncated);
  EXPECT_THROW(load_model(dir / "t.model"), ModelError);
  auto flipped = good;
  for (size_t i = 8; i < 64; ++i) flipped[i] ^= 0xFF;  // the root's vtable offsets
  test::write_bytes(dir / "f.model", flipped);
  EXPECT_THROW(load_model(dir / "f.model"), ModelError);
  test::write_text(dir / "x.model", "hello");
  try {
    load_model(dir / "x.model");
    FAIL();
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("x.model"), std::string::npos);
  }
  EXPECT_THROW(load_model(dir / "missing.model"), ModelError);
}

TEST(Model, WithSpaceEqualsFittingInThatSpace) {
  RowMatrixF x;
  Labels y;
  blobs(3, 10, 64, 6, x, y);
  ModelOptions o = small_options();
  o.space = ClassifySpace::umapN;
  const FittedModel base = fit_model(x, y, o);
  o.space = ClassifySpace::pca;
  const FittedModel direct = fit_model(x, y, o);
  const FittedModel swapped = with_space(base, ClassifySpace::pca);
  const auto a = classify(direct, x, 1), b = classify(swapped, x, 1);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].label, b[i].label);
    EXPECT_FLOAT_EQ(a[i].confidence, b[i].confidence);
  }
}

TEST(Model, KFoldSvmOnRawEqualsTheRotatedSpace) {
  // The lossless rotation must not change the SVM: compare against a fold fitted on raw rows.
  RowMatrixF x;
  Labels y;
  blobs(3, 10, 200, 7, x, y, 0.2f);
  const double acc = kfold_svm_accuracy(x, y, 5, 1, {}, 1);
  const std::vector<int> fold = stratified_folds(y, 5, 1);
  int right = 0;
  for (int f = 0; f < 5; ++f) {
    std::vector<int> tr, te;
    for (size_t i = 0; i < y.size(); ++i) (fold[i] == f ? te : tr).push_back(static_cast<int>(i));
    SvmClassifier c;
    c.fit(take_rows(x, tr), take(y, tr));
    const auto p = c.predict(take_rows(x, te));
    for (size_t i = 0; i < te.size(); ++i) right += p[i].label == y[static_cast<size_t>(te[i])];
  }
  EXPECT_NEAR(acc, right / 30.0, 1e-9);
}

TEST(Model, RealOrlHeldOutAccuracyAndAStrangerIsUnknown) {
  LUMAFLOW_REQUIRE_DATA(orl, "orl");
  IngestOptions io;
  io.threads = 2;
  const EmbeddingStore s = ingest_to_memory(orl, io, nullptr);
  const RowMatrixF x = s.matrix();
  const Labels y = s.labels();
  ModelOptions o;
  o.threads = 2;
  const HeldoutScores h = heldout_scores(x, y, stratified_holdout(y, 2, 42), o);
  EXPECT_GE(h.pca.accuracy, 0.95) << "pca+SVM held-out accuracy (unknown counts as error)";
  // Leave 4 people (s37..s40) out of training entirely, hold 2 faces of each other person out:
  // the open set is cross-validated to call at most 2 % of known faces unknown, so the held-out
  // known faces stay known (within sampling noise of 72 faces), and strangers still come back
  // unknown more often than known faces. (Pixel space separates strangers poorly: README "open
  // set" gives the measured trade-off against the false-reject rate.)
  const Split split = stratified_holdout(y, 2, 7);
  std::vector<int> train_idx, known_idx, stranger_idx;
  std::vector<bool> is_test(y.size(), false);
  for (int i : split.test) is_test[static_cast<size_t>(i)] = true;
  for (size_t i = 0; i < y.size(); ++i) {
    if (y[i] >= 36)
      stranger_idx.push_back(static_cast<int>(i));
    else
      (is_test[i] ? known_idx : train_idx).push_back(static_cast<int>(i));
  }
  const FittedModel m = fit_model(take_rows(x, train_idx), take(y, train_idx), o);
  auto unknown_rate = [&](const std::vector<int>& idx) {
    int u = 0;
    for (const auto& c : classify(m, take_rows(x, idx), 2)) u += !c.known;
    return static_cast<double>(u) / static_cast<double>(idx.size());
  };
  const double strangers = unknown_rate(stranger_idx), known = unknown_rate(known_idx);
  std::printf("orl open set: strangers reported unknown %.3f, known held-out faces reported unknown %.3f\n", strangers,
              known);
  EXPECT_LE(known, 0.05) << "the calibration promises about 2 % of known faces unknown";
  EXPECT_GT(strangers, known);
  EXPECT_GE(m.open_set_frr, 0.02f - 1e-6f);
  EXPECT_LE(m.open_set_cv_frr, 0.02f + 0.02f) << "measured on the folds: near the stated rate";
}
