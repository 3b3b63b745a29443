#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <opencv2/ml.hpp>
#include <random>
#include <thread>

#include "nodes/analysis/svm.hpp"

using namespace lumaflow;

namespace {

struct Blobs {
  RowMatrixF x;
  Labels y;
};

// Gaussian blobs around the given centres (one class each), `per` points a class.
Blobs make_blobs(const std::vector<std::vector<float>>& centres, const std::vector<int>& labels, int per, float sigma,
                 uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.f, sigma);
  const int d = static_cast<int>(centres[0].size());
  Blobs b;
  b.x.resize(static_cast<Eigen::Index>(centres.size()) * per, d);
  for (size_t c = 0; c < centres.size(); ++c)
    for (int i = 0; i < per; ++i) {
      const Eigen::Index r = static_cast<Eigen::Index>(c) * per + i;
      for (int j = 0; j < d; ++j) b.x(r, j) = centres[c][static_cast<size_t>(j)] + g(rng);
      b.y.push_back(labels[c]);
    }
  return b;
}

const std::vector<std::vector<float>> kCentres = {{0, 0, 0}, {4, 0, 0}, {0, 4, 0}, {0, 0, 4}};

}  // namespace

TEST(Svm, SeparableBlobsTrainAndHeldOut) {
  const auto train = make_blobs(kCentres, {0, 1, 2, 3}, 25, 0.5f, 1);
  const auto test = make_blobs(kCentres, {0, 1, 2, 3}, 10, 0.5f, 2);
  SvmClassifier svm;
  svm.fit(train.x, train.y);
  EXPECT_EQ(svm.dims(), 3);
  const auto pt = svm.predict(train.x);
  for (size_t i = 0; i < pt.size(); ++i) EXPECT_EQ(pt[i].label, train.y[i]) << "train row " << i;
  const auto ph = svm.predict(test.x);
  for (size_t i = 0; i < ph.size(); ++i) EXPECT_EQ(ph[i].label, test.y[i]) << "held-out row " << i;
  // Batch and single-row paths agree.
  for (Eigen::Index i = 0; i < test.x.rows(); ++i)
    EXPECT_EQ(svm.predict(test.x.row(i).data(), 3), ph[static_cast<size_t>(i)].label);
}

TEST(Svm, GammaScaleIsOneOverDTimesVariance) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> u(-2.f, 3.f);
  RowMatrixF x(30, 7);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = u(rng);
  Labels y(30);
  for (int i = 0; i < 30; ++i) y[static_cast<size_t>(i)] = i % 3;
  // Independent reference: naive population variance over all 210 numbers.
  std::vector<double> all(x.data(), x.data() + x.size());
  double mean = 0;
  for (double v : all) mean += v;
  mean /= static_cast<double>(all.size());
  double var = 0;
  for (double v : all) var += (v - mean) * (v - mean);
  var /= static_cast<double>(all.size());
  SvmClassifier svm;
  svm.fit(x, y);
  EXPECT_NEAR(svm.gamma(), 1.0 / (7.0 * var), 1e-12 / var);

  svm.fit(x, y, {.C = 1.0, .gamma = 0.25});
  EXPECT_DOUBLE_EQ(svm.gamma(), 0.25);

  RowMatrixF same = RowMatrixF::Constant(4, 3, 0.5f);  // Var = 0 → sklearn falls back to 1
  svm.fit(same, {0, 1, 0, 1});
  EXPECT_DOUBLE_EQ(svm.gamma(), 1.0);
}

TEST(Svm, KeepsNonContiguousLabels) {
  const auto train = make_blobs({kCentres[0], kCentres[1], kCentres[2]}, {11, 3, 7}, 20, 0.4f, 3);
  const auto test = make_blobs({kCentres[0], kCentres[1], kCentres[2]}, {11, 3, 7}, 8, 0.4f, 4);
  SvmClassifier svm;
  svm.fit(train.x, train.y);
  EXPECT_EQ(svm.classes(), (std::vector<int>{3, 7, 11}));
  const auto p = svm.predict(test.x);
  for (size_t i = 0; i < p.size(); ++i) EXPECT_EQ(p[i].label, test.y[i]);
}

// Two training points: the dual has the closed form α = min(C, 1/(1 − K12)), ρ = 0, so the
// decision value and the confidence σ(2f) can be computed by hand.
TEST(Svm, TwoPointProblemMatchesClosedForm) {
  RowMatrixF x(2, 1);
  x << -1.f, 1.f;
  const double g = 0.1, k12 = std::exp(-g * 4.0), alpha = 1.0 / (1.0 - k12);  // α ≈ 3.03 < C
  SvmClassifier svm;
  svm.fit(x, {5, 2}, {.C = 10.0, .gamma = g});
  auto f5 = [&](double t) { return alpha * (std::exp(-g * (t + 1) * (t + 1)) - std::exp(-g * (t - 1) * (t - 1))); };
  auto sig2 = [](double f) { return 1.0 / (1.0 + std::exp(-2.0 * f)); };
  for (float t : {-3.f, -1.f, -0.4f, 0.3f, 1.f, 2.5f}) {
    const auto p = svm.predict_one(&t, 1);
    const double f = f5(t);
    EXPECT_EQ(p.label, f > 0 ? 5 : 2) << "t=" << t;
    EXPECT_NEAR(p.confidence, sig2(std::abs(f)), 2e-3) << "t=" << t;
  }
  EXPECT_NEAR(f5(-1.0), 1.0, 1e-12);  // the training point lies on the margin
  const float mid = 0.f;
  EXPECT_NEAR(svm.predict_one(&mid, 1).confidence, 0.5, 1e-3);
}

TEST(Svm, MatchesOpenCvOwnPrediction) {
  // Overlapping classes so that many points are near boundaries.
  const auto train = make_blobs(kCentres, {0, 1, 2, 3}, 30, 1.5f, 7);
  const auto test = make_blobs(kCentres, {0, 1, 2, 3}, 50, 1.8f, 8);
  SvmClassifier svm;
  svm.fit(train.x, train.y);
  auto ref = cv::ml::SVM::create();
  ref->setType(cv::ml::SVM::C_SVC);
  ref->setKernel(cv::ml::SVM::RBF);
  ref->setC(1.0);
  ref->setGamma(svm.gamma());
  ref->setTermCriteria(cv::TermCriteria(cv::TermCriteria::EPS + cv::TermCriteria::COUNT, 10'000'000, 1e-3));
  cv::Mat samples(static_cast<int>(train.x.rows()), 3, CV_32F, const_cast<float*>(train.x.data()));
  cv::Mat responses(static_cast<int>(train.y.size()), 1, CV_32S, const_cast<int*>(train.y.data()));
  ASSERT_TRUE(ref->train(samples, cv::ml::ROW_SAMPLE, responses));
  cv::Mat tests(static_cast<int>(test.x.rows()), 3, CV_32F, const_cast<float*>(test.x.data())), out;
  ref->predict(tests, out);
  const auto p = svm.predict(test.x);
  int agree = 0;
  for (size_t i = 0; i < p.size(); ++i) agree += p[i].label == static_cast<int>(out.at<float>(static_cast<int>(i)));
  EXPECT_GE(agree, static_cast<int>(p.size()) - 1);  // allow one point within float noise of a boundary
  int correct = 0;
  for (size_t i = 0; i < p.size(); ++i) correct += p[i].label == test.y[i];
  EXPECT_GT(correct, static_cast<int>(p.size()) * 3 / 5);
}

TEST(Svm, SerializeRoundTripGivesIdenticalPredictions) {
  const auto train = make_blobs(kCentres, {9, 4, 6, 1}, 15, 1.0f, 11);
  SvmClassifier svm;
  svm.fit(train.x, train.y, {.C = 2.0});
  const std::string blob = svm.serialize();
  const SvmClassifier back = SvmClassifier::deserialize(blob);
  EXPECT_EQ(back.dims(), svm.dims());
  EXPECT_EQ(back.gamma(), svm.gamma());
  EXPECT_EQ(back.C(), 2.0);
  EXPECT_EQ(back.classes(), svm.classes());
  EXPECT_EQ(back.serialize(), blob);
  const auto grid = make_blobs(kCentres, {0, 0, 0, 0}, 20, 2.0f, 12).x;
  const auto a = svm.predict(grid), b = back.predict(grid);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].label, b[i].label);
    EXPECT_EQ(a[i].confidence, b[i].confidence);
  }
}

TEST(Svm, CorruptBlobThrows) {
  const auto train = make_blobs(kCentres, {0, 1, 2, 3}, 6, 0.5f, 13);
  SvmClassifier svm;
  svm.fit(train.x, train.y);
  const std::string blob = svm.serialize();
  std::string flipped = blob;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x5a);
  EXPECT_THROW(SvmClassifier::deserialize(flipped), std::runtime_error);
  EXPECT_THROW(SvmClassifier::deserialize(blob.substr(0, blob.size() - 9)), std::runtime_error);
  EXPECT_THROW(SvmClassifier::deserialize(""), std::runtime_error);
  std::string foreign = blob;
  foreign[0] = 'X';
  try {
    SvmClassifier::deserialize(foreign);
    ADD_FAILURE() << "foreign blob accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("magic"), std::string::npos) << e.what();
  }
}

TEST(Svm, ConfidenceInRangeAndHigherAtCentresThanAtBoundary) {
  const std::vector<std::vector<float>> c2 = {{0, 0}, {3, 0}};
  const auto train = make_blobs(c2, {0, 1}, 30, 0.5f, 17);
  SvmClassifier svm;
  svm.fit(train.x, train.y);
  const float centre0[2] = {0, 0}, centre1[2] = {3, 0}, mid[2] = {1.5f, 0};
  const auto p0 = svm.predict_one(centre0, 2), p1 = svm.predict_one(centre1, 2), pm = svm.predict_one(mid, 2);
  EXPECT_EQ(p0.label, 0);
  EXPECT_EQ(p1.label, 1);
  EXPECT_GT(p0.confidence, pm.confidence + 0.1f);
  EXPECT_GT(p1.confidence, pm.confidence + 0.1f);
  EXPECT_LT(pm.confidence, 0.7f);
  RowMatrixF grid(21 * 21, 2);
  for (int i = 0; i < 21; ++i)
    for (int j = 0; j < 21; ++j) grid.row(i * 21 + j) << -3.f + 0.45f * i, -3.f + 0.3f * j;
  for (const auto& p : svm.predict(grid)) {
    EXPECT_GE(p.confidence, 0.f);
    EXPECT_LE(p.confidence, 1.f);
  }
  // Same for a multi-class model.
  const auto t4 = make_blobs(kCentres, {0, 1, 2, 3}, 10, 1.f, 18);
  svm.fit(t4.x, t4.y);
  for (const auto& p : svm.predict(make_blobs(kCentres, {0, 0, 0, 0}, 30, 3.f, 19).x)) {
    EXPECT_GE(p.confidence, 0.f);
    EXPECT_LE(p.confidence, 1.f);
  }
}

TEST(Svm, SingleClassAlwaysPredictsIt) {
  RowMatrixF x(3, 2);
  x << 0, 1, 2, 3, 4, 5;
  SvmClassifier svm;
  svm.fit(x, {4, 4, 4});
  const float q[2] = {100, -100};
  const auto p = svm.predict_one(q, 2);
  EXPECT_EQ(p.label, 4);
  EXPECT_EQ(p.confidence, 1.f);
  const auto back = SvmClassifier::deserialize(svm.serialize());
  EXPECT_EQ(back.predict(q, 2), 4);
}

TEST(Svm, ConcurrentPredictEqualsSerial) {
  const auto train = make_blobs(kCentres, {0, 1, 2, 3}, 20, 1.2f, 21);
  const auto test = make_blobs(kCentres, {0, 1, 2, 3}, 40, 1.5f, 22);
  SvmClassifier svm;
  svm.fit(train.x, train.y);
  const auto serial = svm.predict(test.x);
  std::vector<Prediction> batch[2], single[2];
  std::vector<std::thread> pool;
  for (int t = 0; t < 2; ++t)
    pool.emplace_back([&, t] {
      for (int rep = 0; rep < 3; ++rep) batch[t] = svm.predict(test.x);
      for (Eigen::Index i = 0; i < test.x.rows(); ++i) single[t].push_back(svm.predict_one(test.x.row(i).data(), 3));
    });
  for (auto& th : pool) th.join();
  for (int t = 0; t < 2; ++t) {
    ASSERT_EQ(batch[t].size(), serial.size());
    for (size_t i = 0; i < serial.size(); ++i) {
      EXPECT_EQ(batch[t][i].label, serial[i].label);
      EXPECT_EQ(batch[t][i].confidence, serial[i].confidence);
      EXPECT_EQ(single[t][i].label, single[0][i].label);
      EXPECT_EQ(single[t][i].confidence, single[0][i].confidence);
    }
  }
  // Internal row splitting does not change anything either.
  const auto two = svm.predict(test.x, 2);
  for (size_t i = 0; i < serial.size(); ++i) EXPECT_EQ(two[i].confidence, serial[i].confidence);
}

TEST(Svm, VotingAmongEveryClassEqualsTheFullVote) {
  const auto train = make_blobs(kCentres, {9, 4, 6, 1}, 20, 1.5f, 31);
  const auto test = make_blobs(kCentres, {0, 0, 0, 0}, 40, 2.5f, 32);
  SvmClassifier svm;
  svm.fit(train.x, train.y);
  for (Eigen::Index r = 0; r < test.x.rows(); ++r) {
    const Prediction full = svm.predict_one(test.x.row(r).data(), 3);
    const Prediction among = svm.predict_among(test.x.row(r).data(), 3, {3, 1, 0, 2});  // any order
    EXPECT_EQ(among.label, full.label) << r;
    EXPECT_NEAR(among.confidence, full.confidence, 1e-5) << r;
  }
}

TEST(Svm, VotingAmongAShortlistAnswersOneOfItAndMatchesATwoClassModel) {
  const auto train = make_blobs(kCentres, {0, 1, 2, 3}, 25, 0.8f, 33);
  const auto test = make_blobs(kCentres, {0, 1, 2, 3}, 10, 0.8f, 34);
  SvmClassifier svm;
  svm.fit(train.x, train.y);
  int agree = 0;
  for (Eigen::Index r = 0; r < test.x.rows(); ++r) {
    const float* row = test.x.row(r).data();
    const Prediction p = svm.predict_among(row, 3, {1, 2});
    EXPECT_TRUE(p.label == 1 || p.label == 2) << r;
    // A two-class vote is the sign of that pair's own machine; the full vote agrees with it where
    // the full winner is one of the two.
    const int full = svm.predict(row, 3);
    if (full == 1 || full == 2)
      agree += p.label == full;
    else
      ++agree;
  }
  EXPECT_EQ(agree, test.x.rows());
  // One candidate: it wins with confidence 1.
  const Prediction one = svm.predict_among(test.x.row(0).data(), 3, {2});
  EXPECT_EQ(one.label, 2);
  EXPECT_FLOAT_EQ(one.confidence, 1.f);
  EXPECT_THROW(svm.predict_among(test.x.row(0).data(), 3, {}), std::invalid_argument);
  EXPECT_THROW(svm.predict_among(test.x.row(0).data(), 3, {4}), std::invalid_argument);
  EXPECT_THROW(svm.predict_among(test.x.row(0).data(), 2, {0, 1}), std::invalid_argument);
}

TEST(Svm, VotingAmongTheNearestClassesUsesEachRowsOwnShortlist) {
  // Eight classes on a line (labels shuffled): a row's two nearest classes are its neighbours.
  std::vector<std::vector<float>> centres;
  for (int c = 0; c < 8; ++c) centres.push_back({3.f * static_cast<float>(c), 0.f});
  const std::vector<int> labels = {5, 2, 7, 0, 3, 6, 1, 4};
  const auto train = make_blobs(centres, labels, 12, 0.9f, 41);
  const auto test = make_blobs(centres, labels, 6, 1.2f, 42);
  SvmClassifier svm;
  svm.fit(train.x, train.y);
  const std::vector<int> classes = svm.classes();
  for (int m : {1, 2, 3}) {
    const auto got = predict_nearest(svm, train.x, train.y, test.x, m, 1);
    ASSERT_EQ(got.size(), static_cast<size_t>(test.x.rows()));
    for (Eigen::Index r = 0; r < test.x.rows(); ++r) {
      // The reference shortlist: classes by their nearest training row, in double.
      std::vector<std::pair<double, int>> by;
      for (size_t c = 0; c < classes.size(); ++c) {
        double best = 1e300;
        for (Eigen::Index j = 0; j < train.x.rows(); ++j)
          if (train.y[static_cast<size_t>(j)] == classes[c])
            best = std::min(best, (train.x.row(j) - test.x.row(r)).cast<double>().squaredNorm());
        by.push_back({best, static_cast<int>(c)});
      }
      std::sort(by.begin(), by.end());
      std::vector<int> shortlist;
      for (int i = 0; i < m; ++i) shortlist.push_back(by[static_cast<size_t>(i)].second);
      const Prediction want = svm.predict_among(test.x.row(r).data(), 2, shortlist);
      EXPECT_EQ(got[static_cast<size_t>(r)].label, want.label) << "m " << m << " row " << r;
      EXPECT_FLOAT_EQ(got[static_cast<size_t>(r)].confidence, want.confidence) << "m " << m << " row " << r;
      if (m == 1) EXPECT_EQ(want.label, classes[static_cast<size_t>(by[0].second)]);  // the nearest class
    }
  }
  // Threads split rows only; a shortlist as long as the classes is the full vote.
  const auto one = predict_nearest(svm, train.x, train.y, test.x, 3, 1);
  const auto two = predict_nearest(svm, train.x, train.y, test.x, 3, 2);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_EQ(one[i].confidence, two[i].confidence);
  const auto full = svm.predict(test.x, 1);
  const auto all = predict_nearest(svm, train.x, train.y, test.x, 8, 1);
  for (size_t i = 0; i < full.size(); ++i) EXPECT_EQ(all[i].label, full[i].label);
  EXPECT_THROW(predict_nearest(svm, train.x, Labels(train.y.begin(), train.y.end() - 1), test.x, 2),
               std::invalid_argument);
  Labels foreign = train.y;
  foreign[0] = 99;
  EXPECT_THROW(predict_nearest(svm, train.x, foreign, test.x, 2), std::invalid_argument);
}

TEST(Svm, RejectsBadInput) {
  RowMatrixF x(3, 2);
  x << 0, 1, 2, 3, 4, 5;
  SvmClassifier svm;
  const float q[2] = {0, 0};
  EXPECT_THROW(svm.predict(q, 2), std::runtime_error);
  EXPECT_THROW(svm.fit(x, {0, 1}), std::invalid_argument);
  EXPECT_THROW(svm.fit(x, {0, -1, 1}), std::invalid_argument);
  EXPECT_THROW(svm.fit(x, {0, 1, 1}, {.C = 0}), std::invalid_argument);
  svm.fit(x, {0, 1, 1});
  EXPECT_THROW(svm.predict(q, 3), std::invalid_argument);
  EXPECT_THROW(svm.predict(RowMatrixF::Zero(2, 5)), std::invalid_argument);
}
