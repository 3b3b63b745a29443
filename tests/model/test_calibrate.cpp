// Open-set calibration by cross-validation: the stated false-reject rate holds on new faces.
#include "nodes/model/calibrate.hpp"

#include <gtest/gtest.h>

#include <random>

namespace lumaflow {
namespace {

// `people` Gaussian clusters in d dimensions (centres drawn from `seed`), `per` faces each drawn
// from `draw_seed`: the same seed, the same people; another draw seed, new faces of them.
void clusters(int people, int per, int d, uint64_t seed, RowMatrixF& x, Labels& y, uint64_t draw_seed = 0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.f, 1.f);
  RowMatrixF centres(people, d);
  for (Eigen::Index i = 0; i < centres.size(); ++i) centres.data()[i] = 8.f * g(rng);
  if (draw_seed) rng.seed(draw_seed);
  x.resize(people * per, d);
  y.clear();
  for (int p = 0; p < people; ++p)
    for (int k = 0; k < per; ++k) {
      const Eigen::Index r = static_cast<Eigen::Index>(y.size());
      for (int c = 0; c < d; ++c) x(r, c) = centres(p, c) + g(rng);
      y.push_back(p);
    }
}

// Share of faces of new draws from the same people farther than the thresholds (identity basis).
double rejected_new_faces(const OpenSetCalibration& cal, const RowMatrixF& train, const Labels& y, int people, int per,
                          int d, uint64_t seed) {
  RowMatrixF fresh;
  Labels fy;
  clusters(people, per, d, seed, fresh, fy, seed + 1000);  // the same people, new faces
  (void)fy;
  int rejected = 0;
  for (Eigen::Index i = 0; i < fresh.rows(); ++i) {
    const Eigen::VectorXf dist = (train.rowwise() - fresh.row(i)).rowwise().norm();
    std::vector<float> best(static_cast<size_t>(people), 1e30f);
    for (Eigen::Index j = 0; j < train.rows(); ++j)
      best[static_cast<size_t>(y[static_cast<size_t>(j)])] =
          std::min(best[static_cast<size_t>(y[static_cast<size_t>(j)])], dist(j));
    std::sort(best.begin(), best.end());
    rejected += best[0] > cal.distance || best[0] / best[1] > cal.ratio;
  }
  return static_cast<double>(rejected) / static_cast<double>(fresh.rows());
}

TEST(Calibrate, StatedRateHoldsOnTheFoldsAndOnNewFaces) {
  RowMatrixF x;
  Labels y;
  clusters(20, 12, 6, 7, x, y);
  CalibrationOptions o;
  o.frr = 0.05f;
  o.threads = 1;
  const OpenSetCalibration cal = calibrate_open_set(x, y, identity_basis(x), false, {}, o);
  EXPECT_EQ(cal.scored, 240u);
  EXPECT_EQ(cal.folds, 5);
  EXPECT_LE(cal.cv_frr, 0.05f + 1e-6f) << "two tests at frr/2 each reject at most frr on the folds";
  EXPECT_GT(cal.cv_frr, 0.0f);
  EXPECT_GT(cal.distance, 0.f);
  EXPECT_LT(cal.ratio, 1.f);
  // New faces of the same people: rejected at about the stated rate (1,200 draws; generous band).
  const double fresh = rejected_new_faces(cal, x, y, 20, 60, 6, 7);
  EXPECT_LE(fresh, 0.10);
}

TEST(Calibrate, ALargerRateGivesTighterThresholdsAndIsReproducible) {
  RowMatrixF x;
  Labels y;
  clusters(10, 10, 5, 3, x, y);
  CalibrationOptions lo, hi;
  lo.frr = 0.02f;
  hi.frr = 0.2f;
  const PcaModel basis = identity_basis(x);
  const OpenSetCalibration a = calibrate_open_set(x, y, basis, false, {}, lo);
  const OpenSetCalibration b = calibrate_open_set(x, y, basis, false, {}, hi);
  EXPECT_GT(a.distance, b.distance);
  EXPECT_GE(a.ratio, b.ratio);
  EXPECT_GT(b.cv_frr, a.cv_frr);
  const OpenSetCalibration again = calibrate_open_set(x, y, basis, false, {}, lo);
  EXPECT_EQ(again.distance, a.distance);
  EXPECT_EQ(again.ratio, a.ratio);
}

TEST(Calibrate, RefitsTheReductionWithoutTheFoldWhenAsked) {
  RowMatrixF x;
  Labels y;
  clusters(6, 6, 8, 11, x, y);
  int fits = 0;
  CalibrationOptions o;
  o.folds = 3;
  const FitReduction refit = [&](const RowSource& train) {
    ++fits;
    EXPECT_EQ(train.rows(), 24) << "each fold trains on the other two thirds";
    return identity_basis(train.matrix());
  };
  calibrate_open_set(x, y, identity_basis(x), false, refit, o);
  EXPECT_EQ(fits, 3);
  o.refit_max = 10;  // past refit_max the full basis serves every fold
  fits = 0;
  calibrate_open_set(x, y, identity_basis(x), false, refit, o);
  EXPECT_EQ(fits, 0);
}

TEST(Calibrate, RefusesWhatItCannotCalibrate) {
  RowMatrixF x = RowMatrixF::Random(4, 3);
  EXPECT_THROW(calibrate_open_set(x, {0, 1, 2, 3}, identity_basis(x), false, {}, {}), std::invalid_argument)
      << "nobody with two faces";
  CalibrationOptions bad;
  bad.frr = 0.f;
  EXPECT_THROW(calibrate_open_set(x, {0, 0, 1, 1}, identity_basis(x), false, {}, bad), std::invalid_argument);
}

}  // namespace
}  // namespace lumaflow
