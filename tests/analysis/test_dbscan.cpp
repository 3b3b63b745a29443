#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <queue>
#include <random>

#include "nodes/analysis/dbscan.hpp"

using namespace lumaflow;

namespace {

RowMatrixF points2d(const std::vector<std::pair<float, float>>& p) {
  RowMatrixF x(static_cast<Eigen::Index>(p.size()), 2);
  for (size_t i = 0; i < p.size(); ++i) x.row(static_cast<Eigen::Index>(i)) << p[i].first, p[i].second;
  return x;
}

RowMatrixF line(const std::vector<float>& xs) {
  std::vector<std::pair<float, float>> p;
  for (float v : xs) p.push_back({v, 0.f});
  return points2d(p);
}

DbscanOptions opts(float eps, int min_pts, bool normalize = false, int threads = 0) {
  return {.eps = eps, .min_pts = min_pts, .normalize = normalize, .threads = threads};
}

// The documented reading of a float eps: its shortest decimal form as a double.
double decimal(float v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  double d = 0;
  std::from_chars(buf, r.ptr, d);
  return d;
}

RowMatrixD scaled_rows(const RowMatrixF& x, bool normalize) {
  RowMatrixD d = x.cast<double>();
  if (normalize)
    for (Eigen::Index i = 0; i < d.rows(); ++i)
      if (d.row(i).norm() > 0) d.row(i) /= d.row(i).norm();
  return d;
}

// Independent reference: DBSCAN as the definition states it. Clusters are the connected
// components of core points, numbered by their smallest core index; a border point takes the
// smallest cluster id among its core neighbours (what index-ordered expansion produces).
Labels reference_dbscan(const RowMatrixF& x, float eps, int min_pts, bool normalize) {
  const RowMatrixD d = scaled_rows(x, normalize);
  const auto n = static_cast<int>(d.rows());
  const double e = decimal(eps);
  std::vector<std::vector<int>> nb(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      if ((d.row(i) - d.row(j)).squaredNorm() <= e * e) nb[static_cast<size_t>(i)].push_back(j);
  std::vector<bool> core(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    core[static_cast<size_t>(i)] = static_cast<int>(nb[static_cast<size_t>(i)].size()) >= min_pts;
  Labels comp(static_cast<size_t>(n), -1);
  int next = 0;
  for (int s = 0; s < n; ++s) {
    if (!core[static_cast<size_t>(s)] || comp[static_cast<size_t>(s)] != -1) continue;
    std::queue<int> q;
    q.push(s);
    comp[static_cast<size_t>(s)] = next;
    while (!q.empty()) {
      const int p = q.front();
      q.pop();
      for (int r : nb[static_cast<size_t>(p)])
        if (core[static_cast<size_t>(r)] && comp[static_cast<size_t>(r)] == -1) {
          comp[static_cast<size_t>(r)] = next;
          q.push(r);
        }
    }
    ++next;
  }
  Labels out = comp;
  for (int i = 0; i < n; ++i) {
    if (core[static_cast<size_t>(i)]) continue;
    int best = -1;
    for (int r : nb[static_cast<size_t>(i)])
      if (core[static_cast<size_t>(r)] && (best == -1 || comp[static_cast<size_t>(r)] < best))
        best = comp[static_cast<size_t>(r)];
    out[static_cast<size_t>(i)] = best;
  }
  return out;
}

RowMatrixF blobs(int per, int centers, int dim, float spread, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  RowMatrixF c(centers, dim), x(per * centers, dim);
  for (Eigen::Index i = 0; i < c.size(); ++i) c.data()[i] = 3.f * g(rng);
  // Interleave the blobs so index order does not follow cluster membership.
  for (int i = 0; i < per * centers; ++i)
    for (int k = 0; k < dim; ++k) x(i, k) = c(i % centers, k) + spread * g(rng);
  return x;
}

}  // namespace

// Line layout, eps = 1, min_pts = 4 (self included), distances exactly representable:
//   A = {0, .25, .5, 1}   X = 2   B = {3, 3.5, 3.75, 4}   noise 10, and a pair {20, 20.5}.
// Counts: A points 4,4,4,5 (1 reaches X at distance exactly 1) -> core; X sees {1, 2, 3} -> 3,
// border, reachable from both A's 1 and B's 3; B points 5,4,4,4 -> core; 10 -> 1; pair -> 2.
TEST(Dbscan, HandMadeCoreBorderNoise) {
  const RowMatrixF x = line({0.f, 0.25f, 0.5f, 1.f, 2.f, 3.f, 3.5f, 3.75f, 4.f, 10.f, 20.f, 20.5f});
  const Labels expected = {0, 0, 0, 0, 0, 1, 1, 1, 1, -1, -1, -1};
  EXPECT_EQ(dbscan(x, opts(1.f, 4)), expected);
  // With min_pts = 5 only 1.0 and 3.0 stay core; each is alone, so each forms its own cluster
  // whose border points are its neighbours; X goes to the first one.
  const Labels expected5 = {0, 0, 0, 0, 0, 1, 1, 1, 1, -1, -1, -1};
  EXPECT_EQ(dbscan(x, opts(1.f, 5)), expected5);
  // min_pts = 6: nobody is core.
  EXPECT_EQ(dbscan(x, opts(1.f, 6)), Labels(12, -1));
}

TEST(Dbscan, SharedBorderGoesToFirstClusterFound) {
  // Same geometry, but B's points come first in index order: B becomes cluster 0 and takes X.
  const RowMatrixF x = line({3.f, 3.5f, 3.75f, 4.f, 10.f, 2.f, 0.f, 0.25f, 0.5f, 1.f});
  const Labels expected = {0, 0, 0, 0, -1, 0, 1, 1, 1, 1};
  EXPECT_EQ(dbscan(x, opts(1.f, 4)), expected);
  // A border point listed before every core point still joins the cluster found first.
  const RowMatrixF y = line({2.f, 3.f, 3.5f, 3.75f, 4.f, 0.f, 0.25f, 0.5f, 1.f});
  const Labels expected_y = {0, 0, 0, 0, 0, 1, 1, 1, 1};
  EXPECT_EQ(dbscan(y, opts(1.f, 4)), expected_y);
}

TEST(Dbscan, MinPtsCountsThePointItself) {
  const RowMatrixF pair = line({0.f, 0.5f});
  EXPECT_EQ(dbscan(pair, opts(1.f, 2)), (Labels{0, 0}));
  EXPECT_EQ(dbscan(pair, opts(1.f, 3)), (Labels{-1, -1}));
  const RowMatrixF far = line({0.f, 5.f, 10.f});
  EXPECT_EQ(dbscan(far, opts(1.f, 1)), (Labels{0, 1, 2}));  // every point is its own core
  // The radius is inclusive: distance exactly eps is a neighbour, just above it is not.
  EXPECT_EQ(dbscan(line({0.f, 0.25f}), opts(0.25f, 2)), (Labels{0, 0}));
  EXPECT_EQ(dbscan(line({0.f, 0.25f}), opts(0.2499f, 2)), (Labels{-1, -1}));
}

TEST(Dbscan, NormalizeOnAndOff) {
  // Rows 0 and 1 point the same way (angle atan(0.05), chord ≈ 0.04998), rows 2 and 3 are
  // parallel (distance 0 once normalised), row 4 is the zero row (stays zero: distance 1).
  const RowMatrixF x = points2d({{1.f, 0.f}, {10.f, 0.5f}, {0.f, 1.f}, {0.f, 7.f}, {0.f, 0.f}});
  EXPECT_EQ(dbscan(x, opts(0.1f, 2, true)), (Labels{0, 0, 1, 1, -1}));
  EXPECT_EQ(dbscan(x, opts(0.1f, 2, false)), Labels(5, -1));
  // Unnormalised with eps 1.5 only rows 0, 2 and 4 (pairwise 1, 1 and √2) meet.
  EXPECT_EQ(dbscan(x, opts(1.5f, 2, false)), (Labels{0, -1, 0, -1, 0}));
  EXPECT_EQ(dbscan(x, opts(0.1f, 2, true)), reference_dbscan(x, 0.1f, 2, true));
}

TEST(Dbscan, MatchesReferenceOnBlobs) {
  const RowMatrixF x = blobs(40, 4, 8, 0.6f, 3);
  for (bool normalize : {false, true})
    for (float eps : {0.3f, 0.8f, 1.2f, 2.0f})
      for (int min_pts : {1, 3, 5, 10}) {
        const float e = normalize ? eps / 8 : eps;
        EXPECT_EQ(dbscan(x, opts(e, min_pts, normalize)), reference_dbscan(x, e, min_pts, normalize))
            << "eps " << e << " min_pts " << min_pts << " normalize " << normalize;
      }
}

TEST(Dbscan, RadiusNeighborhoodsSweepEqualsDbscan) {
  const RowMatrixF x = blobs(50, 3, 16, 0.8f, 11);
  for (bool normalize : {false, true}) {
    const float max_eps = normalize ? 0.5f : 5.f;
    const RadiusNeighborhoods rn(x, max_eps, normalize, 2);
    EXPECT_EQ(rn.size(), 150);
    for (float f : {0.1f, 0.25f, 0.4f, 0.6f, 1.0f})
      for (int min_pts : {2, 5, 8}) {
        const float eps = max_eps * f;
        EXPECT_EQ(rn.dbscan(eps, min_pts), dbscan(x, opts(eps, min_pts, normalize)));
      }
    EXPECT_THROW(rn.dbscan(max_eps * 1.5f, 5), std::invalid_argument);
  }
}

// Pairs placed exactly at the radius: the float GEMM alone cannot decide these, the exact
// double-precision re-check must, and the counts must equal the brute-force double ones.
TEST(Dbscan, BorderlineDistancesDecidedExactly) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u;
  RowMatrixF x(40, 3000);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = u(rng);
  const RowMatrixD d = x.cast<double>();
  const RadiusNeighborhoods rn(x, 40.f, false, 2);
  int checked = 0;
  for (int i = 0; i < 40; i += 7) {
    const double exact = (d.row(i) - d.row(i + 1)).norm();
    const float at = static_cast<float>(exact);
    for (float eps : {std::nextafter(at, 0.f), at, std::nextafter(at, 100.f)}) {
      const double e = decimal(eps);
      std::vector<int> want(40, 0);
      for (int a = 0; a < 40; ++a)
        for (int b = 0; b < 40; ++b) want[static_cast<size_t>(a)] += (d.row(a) - d.row(b)).squaredNorm() <= e * e;
      EXPECT_EQ(rn.neighbor_counts(eps), want) << "eps " << eps;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 18);
}

TEST(Dbscan, ThreadCountDoesNotChangeResult) {
  const RowMatrixF x = blobs(100, 5, 40, 0.3f, 21);
  const Labels a = dbscan(x, opts(0.3f, 5, true, 1));
  EXPECT_GT(*std::max_element(a.begin(), a.end()), 0);  // the data does split into clusters
  EXPECT_EQ(dbscan(x, opts(0.3f, 5, true, 2)), a);
  EXPECT_EQ(dbscan(x, opts(0.3f, 5, true, 3)), a);
  EXPECT_EQ(k_distances(x, 5, true, 1), k_distances(x, 5, true, 3));
}

TEST(Dbscan, KDistancesMatchBruteForce) {
  const RowMatrixF x = blobs(30, 3, 12, 0.5f, 8);
  for (bool normalize : {false, true})
    for (int k : {1, 2, 6}) {
      const RowMatrixD d = scaled_rows(x, normalize);
      std::vector<float> want;
      for (Eigen::Index i = 0; i < d.rows(); ++i) {
        std::vector<double> all;
        for (Eigen::Index j = 0; j < d.rows(); ++j) all.push_back((d.row(i) - d.row(j)).norm());
        std::sort(all.begin(), all.end());
        want.push_back(static_cast<float>(all[static_cast<size_t>(k - 1)]));
      }
      std::sort(want.begin(), want.end());
      const std::vector<float> got = k_distances(x, k, normalize, 2);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i) EXPECT_FLOAT_EQ(got[i], want[i]) << "k " << k << " i " << i;
      if (k == 1) {
        EXPECT_EQ(got.back(), 0.f);  // k counts the point itself
      }
    }
  EXPECT_THROW(k_distances(x, 0, false), std::invalid_argument);
  EXPECT_THROW(k_distances(x, 91, false), std::invalid_argument);
}

TEST(Dbscan, KneeOfSortedCurve) {
  // Flat at 0.1 for 90 points, then 1..10: the farthest point from the chord is the last flat one.
  std::vector<float> v(90, 0.1f);
  for (int i = 1; i <= 10; ++i) v.push_back(static_cast<float>(i));
  EXPECT_FLOAT_EQ(knee_of_sorted(v), 0.1f);
  EXPECT_FLOAT_EQ(knee_of_sorted({2.f, 2.f, 2.f}), 2.f);
  EXPECT_THROW(knee_of_sorted({}), std::invalid_argument);
}

TEST(Dbscan, SuggestEpsFindsTheObviousKnee) {
  // Three 5×6 grids of spacing 0.1 far apart, plus five isolated outliers. With k = 4 every grid
  // point's 4th neighbour (self included) is at 0.1 or 0.1·√2, each outlier's at >= 5.
  std::vector<std::pair<float, float>> p;
  for (int c = 0; c < 3; ++c)
    for (int a = 0; a < 5; ++a)
      for (int b = 0; b < 6; ++b) p.push_back({10.f * c + 0.1f * a, 0.1f * b});
  for (int o = 0; o < 5; ++o) p.push_back({5.f + 10.f * o, 50.f + 7.f * o});
  const RowMatrixF x = points2d(p);
  const float eps = suggest_eps(x, 4, false, 2);
  const float knee = knee_of_sorted(k_distances(x, 4, false, 2));
  EXPECT_GT(eps, knee);  // a margin above the knee's exact distance, so no tie decides the labels
  EXPECT_LE(eps, knee * 1.0002f);
  EXPECT_GE(eps, 0.0999f);
  EXPECT_LE(eps, 0.1415f);
  const Labels l = dbscan(x, opts(eps, 4));
  Labels expected;
  for (int c = 0; c < 3; ++c) expected.insert(expected.end(), 30, c);
  expected.insert(expected.end(), 5, -1);
  EXPECT_EQ(l, expected);
}

TEST(Dbscan, RejectsBadOptions) {
  const RowMatrixF x = line({0.f, 1.f});
  EXPECT_THROW(dbscan(x, opts(0.f, 2)), std::invalid_argument);
  EXPECT_THROW(dbscan(x, opts(-1.f, 2)), std::invalid_argument);
  EXPECT_THROW(dbscan(x, opts(1.f, 0)), std::invalid_argument);
  EXPECT_TRUE(dbscan(RowMatrixF(0, 3), opts(1.f, 2)).empty());
}

// Past pair_budget, dbscan() forgets the pairs and makes a second distance pass (union-find on
// core pairs, border points' core neighbours): labels must not change, whatever the budget or
// the thread count, including budgets that run out in the middle of the first pass.
TEST(Dbscan, SecondPassPastThePairBudgetGivesTheSameLabels) {
  const RowMatrixF x = blobs(60, 4, 10, 0.7f, 17);
  int mixed = 0;  // settings whose labels hold several clusters and noise
  for (bool normalize : {false, true})
    for (float eps : {0.8f, 1.5f, 3.0f})
      for (int min_pts : {3, 8}) {
        const float e = normalize ? eps / 8 : eps;
        const Labels want = reference_dbscan(x, e, min_pts, normalize);
        mixed += *std::max_element(want.begin(), want.end()) >= 1 && std::count(want.begin(), want.end(), -1) > 0;
        for (int64_t budget : {int64_t{0}, int64_t{1}, int64_t{500}, int64_t{1} << 23})
          for (int threads : {1, 2, 3}) {
            DbscanOptions o = opts(e, min_pts, normalize, threads);
            o.pair_budget = budget;
            EXPECT_EQ(dbscan(x, o), want) << "eps " << e << " min_pts " << min_pts << " normalize " << normalize
                                          << " budget " << budget << " threads " << threads;
          }
      }
  EXPECT_GE(mixed, 2);
}

// A sweep radius that would hold nearly all n²/2 pairs is lowered to fit the pair budget; the
// labels below the lowered radius are still exact.
TEST(Dbscan, RadiusNeighborhoodsKeepToThePairBudget) {
  const RowMatrixF x = blobs(150, 4, 10, 0.7f, 23);  // 600 points: 179,700 pairs
  const RadiusNeighborhoods all(x, 1000.f, false, 2);
  EXPECT_FALSE(all.capped());
  EXPECT_EQ(all.stored_pairs(), 600 * 599 / 2);
  const RadiusNeighborhoods rn(x, 1000.f, false, 2, 20000);
  EXPECT_TRUE(rn.capped());
  EXPECT_LT(rn.max_eps(), 1000.f);
  EXPECT_GT(rn.stored_pairs(), 10000);  // an estimate from 512 rows: within a factor of 2
  EXPECT_LT(rn.stored_pairs(), 40000);
  for (float f : {0.3f, 0.7f, 1.0f}) {
    const float eps = rn.max_eps() * f;
    EXPECT_EQ(rn.dbscan(eps, 5), dbscan(x, opts(eps, 5))) << "eps " << eps;
  }
  EXPECT_THROW(rn.dbscan(rn.max_eps() * 1.01f, 5), std::invalid_argument);
}

// The sweep's top value is the (capped) max_eps itself: a float top·s/steps rounded above it
// once made analyze die after 708 s with "eps 0.880001 exceeds max_eps 0.880001".
TEST(Dbscan, EpsSweepStaysWithinItsTopAndEndsExactlyThere) {
  int rounded_above = 0;
  for (float top = 0.05f; top < 2.0f; top = std::nextafter(top + 0.0007f, 3.0f)) {
    for (int s = 1; s <= 40; ++s) rounded_above += top * static_cast<float>(s) / 40.0f > top;
    const std::vector<float> eps = eps_sweep(top, 40);
    ASSERT_EQ(eps.size(), 40u);
    EXPECT_EQ(eps.back(), top);
    for (size_t i = 0; i < eps.size(); ++i) {
      ASSERT_LE(eps[i], top) << "top " << top << " step " << i;
      if (i > 0) {
        ASSERT_LE(eps[i - 1], eps[i]);
      }
    }
  }
  EXPECT_GT(rounded_above, 0);  // the naive formula does go over: this test can fail
  EXPECT_THROW(eps_sweep(1.f, 0), std::invalid_argument);
}

TEST(Dbscan, SweepRunsAtTheExactCapOfTheRadiusBudget) {
  const RowMatrixF x = blobs(150, 4, 10, 0.7f, 23);
  const RadiusNeighborhoods rn(x, 1000.f, false, 2, 20000);
  ASSERT_TRUE(rn.capped());
  const std::vector<float> eps = eps_sweep(rn.max_eps(), 40);
  EXPECT_NO_THROW(rn.dbscan(eps.back(), 5));
  EXPECT_EQ(rn.dbscan(eps.back(), 5), dbscan(x, opts(eps.back(), 5)));
  for (float e : eps) {
    EXPECT_NO_THROW(rn.dbscan(e, 3)) << e;
  }
}
