// DBSCAN, k-distances and the eps sweep read from a precomputed Gram matrix must give what the
// row path gives on the same rows: pixel-like rows (every value a byte / 255, d > n), as the
// analyze stage hands them over.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "nodes/analysis/dbscan.hpp"
#include "nodes/analysis/pca.hpp"

using namespace lumaflow;

namespace {

// 300 rows × 1024 bytes / 255: 250 rows around 5 prototypes (noise growing with the prototype,
// so the clusters have different densities), 48 uniform rows, a zero row and a duplicate row.
RowMatrixF byte_faces() {
  std::mt19937 rng(29);
  std::uniform_int_distribution<int> byte(0, 255), unit(-100, 100);
  const int d = 1024, protos = 5;
  std::vector<std::vector<int>> p(protos, std::vector<int>(d));
  for (auto& v : p)
    for (int& b : v) b = byte(rng);
  RowMatrixF x(300, d);
  for (int i = 0; i < 300; ++i)
    for (int k = 0; k < d; ++k) {
      int b;
      if (i < 250) {
        const int q = i % protos;  // interleaved: index order does not follow the clusters
        b = std::clamp(p[static_cast<size_t>(q)][static_cast<size_t>(k)] + unit(rng) * (12 + 10 * q) / 100, 0, 255);
      } else {
        b = byte(rng);
      }
      x(i, k) = static_cast<float>(b) / 255.f;
    }
  x.row(298).setZero();
  x.row(299) = x.row(7);
  return x;
}

DbscanOptions opts(float eps, int min_pts, bool normalize, int threads = 0, int64_t budget = int64_t{1} << 23) {
  return {.eps = eps, .min_pts = min_pts, .normalize = normalize, .threads = threads, .pair_budget = budget};
}

bool mixed(const Labels& l) {
  return *std::max_element(l.begin(), l.end()) >= 1 && std::count(l.begin(), l.end(), -1) > 0;
}

struct Data {
  RowMatrixF x = byte_faces();
  Eigen::MatrixXd g = gram_matrix(x);
};
const Data& data() {
  static const Data d;
  return d;
}

}  // namespace

TEST(DbscanGram, LabelsEqualTheRowPath) {
  const Data& D = data();
  int mixed_settings = 0;
  for (bool normalize : {true, false}) {
    const float s = suggest_eps(D.x, 5, normalize);
    for (float f : {0.6f, 1.0f, 1.4f, 2.0f})
      for (int min_pts : {3, 8}) {
        const float eps = s * f;
        const Labels want = dbscan(D.x, opts(eps, min_pts, normalize));
        mixed_settings += mixed(want);
        const std::string at = "eps " + std::to_string(eps) + " min_pts " + std::to_string(min_pts) + " normalize " +
                               std::to_string(normalize);
        EXPECT_EQ(dbscan(GramInput{D.g, &D.x}, opts(eps, min_pts, normalize)), want) << at;
        // From G alone the doubles decide; no pair of this set lies within 1e-8 of these radii.
        EXPECT_EQ(dbscan(GramInput{D.g}, opts(eps, min_pts, normalize)), want) << at;
        // Past the pair budget (second pass) and for other thread counts.
        EXPECT_EQ(dbscan(GramInput{D.g, &D.x}, opts(eps, min_pts, normalize, 3, 0)), want) << at;
        EXPECT_EQ(dbscan(GramInput{D.g, &D.x}, opts(eps, min_pts, normalize, 1, 100)), want) << at;
      }
  }
  EXPECT_GE(mixed_settings, 4);  // clusters and noise both occur
}

TEST(DbscanGram, KDistancesAndSuggestedEpsEqualTheRowPath) {
  const Data& D = data();
  for (bool normalize : {true, false})
    for (int k : {1, 5, 12}) {
      const std::vector<float> want = k_distances(D.x, k, normalize, 2);
      // With the rows, the few candidates at the k-th distance are ranked by the same exact values.
      EXPECT_EQ(k_distances(GramInput{D.g, &D.x}, k, normalize, 3), want) << "k " << k;
      const std::vector<float> alone = k_distances(GramInput{D.g}, k, normalize, 1);
      ASSERT_EQ(alone.size(), want.size());
      for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(alone[i], want[i], 1e-6 * want[i] + 1e-7) << i;
      const float s = suggest_eps(D.x, k, normalize);
      EXPECT_EQ(suggest_eps(GramInput{D.g, &D.x}, k, normalize), s);
      EXPECT_NEAR(suggest_eps(GramInput{D.g}, k, normalize), s, 1e-6 * s);
    }
}

TEST(DbscanGram, SweepEqualsTheRowPathUncappedAndCapped) {
  const Data& D = data();
  int mixed_settings = 0;
  for (bool normalize : {true, false}) {
    const float top = 2 * suggest_eps(D.x, 5, normalize);
    for (int64_t budget : {int64_t{1} << 23, int64_t{4000}}) {
      const RadiusNeighborhoods rows(D.x, top, normalize, 2, budget);
      const RadiusNeighborhoods gram(GramInput{D.g, &D.x}, top, normalize, 3, budget);
      EXPECT_EQ(gram.size(), rows.size());
      EXPECT_EQ(gram.capped(), budget < 1000000) << budget;
      EXPECT_EQ(gram.capped(), rows.capped());
      EXPECT_EQ(gram.max_eps(), rows.max_eps());  // the same exact quantile, the same float
      // Stored: the pairs within max_eps plus each path's error band, thinner for the Gram's.
      EXPECT_LE(gram.stored_pairs(), rows.stored_pairs());
      EXPECT_GE(gram.stored_pairs(), rows.stored_pairs() * 95 / 100);
      if (budget < 1000000) {  // an estimate from the sampled rows: within a factor of 2
        EXPECT_GT(gram.stored_pairs(), budget / 2);
        EXPECT_LT(gram.stored_pairs(), budget * 2);
      }
      // The row version equals dbscan() (test_dbscan); one full pass here, at the top.
      EXPECT_EQ(gram.dbscan(gram.max_eps(), 5), dbscan(D.x, opts(gram.max_eps(), 5, normalize)));
      for (const float eps : eps_sweep(gram.max_eps(), 8))
        for (int min_pts : {3, 5}) {
          const Labels want = rows.dbscan(eps, min_pts);
          EXPECT_EQ(gram.dbscan(eps, min_pts), want) << "eps " << eps << " min_pts " << min_pts;
          mixed_settings += mixed(want);
        }
      EXPECT_EQ(gram.neighbor_counts(gram.max_eps() / 2), rows.neighbor_counts(gram.max_eps() / 2));
      EXPECT_THROW(gram.dbscan(gram.max_eps() * 1.01f, 5), std::invalid_argument);
    }
  }
  EXPECT_GE(mixed_settings, 8);
}

TEST(DbscanGram, RejectsAMismatchedGram) {
  const Data& D = data();
  const Eigen::MatrixXd wide = Eigen::MatrixXd::Zero(3, 4);
  EXPECT_THROW(dbscan(GramInput{wide}, opts(0.5f, 3, true)), std::invalid_argument);
  const RowMatrixF few = D.x.topRows(10);
  EXPECT_THROW(dbscan(GramInput{D.g, &few}, opts(0.5f, 3, true)), std::invalid_argument);
  EXPECT_THROW(k_distances(GramInput{D.g}, 0, true), std::invalid_argument);
  EXPECT_THROW(RadiusNeighborhoods(GramInput{D.g}, -1.f, true), std::invalid_argument);
  const Eigen::MatrixXd empty(0, 0);
  EXPECT_TRUE(dbscan(GramInput{empty}, opts(0.5f, 3, true)).empty());
}
