// nodes/core/random.hpp: reference outputs, determinism, ranges and distributions.
#include "nodes/core/random.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

namespace lumaflow {
namespace {

TEST(SplitMix64, MatchesTheReferenceStream) {
  // First outputs of Vigna's splitmix64.c started from x = 0.
  SplitMix64 g(0);
  EXPECT_EQ(g.next(), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(g.next(), 0x6E789E6AA1B965F4ull);
  EXPECT_EQ(g.next(), 0x06C45D188009454Full);
}

TEST(SplitMix64, SameSeedSameStreamOtherSeedOtherStream) {
  SplitMix64 a(42), b(42), c(43);
  int differ = 0;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    differ += x != c.next();
  }
  EXPECT_EQ(differ, 1000);
}

TEST(SplitMix64, UniformsStayInRangeWithTheRightMean) {
  SplitMix64 g(7);
  double sum = 0;
  std::vector<int> hist(10, 0);
  constexpr int kN = 100000;
  for (int i = 0; i < kN; ++i) {
    const double u = g.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    const int b = g.below(10);
    ASSERT_GE(b, 0);
    ASSERT_LT(b, 10);
    ++hist[static_cast<size_t>(b)];
  }
  EXPECT_NEAR(sum / kN, 0.5, 0.005);
  for (int h : hist) EXPECT_NEAR(h, kN / 10, 500);
}

TEST(SplitMix64, NormalsAreBoxMullerPairsOfItsOwnUniforms) {
  SplitMix64 g(3), raw(3);
  for (int i = 0; i < 50; ++i) {
    const double u1 = std::max(raw.uniform(), 1e-300), u2 = raw.uniform();
    const NormalPair p = box_muller(u1, u2);
    EXPECT_EQ(g.normal(), p.first);
    EXPECT_EQ(g.normal(), p.second);
  }
}

TEST(Random, UnitIntervalsCoverTheirEnds) {
  EXPECT_EQ(unit_interval(0), 0.0);
  EXPECT_LT(unit_interval(~0ull), 1.0);
  EXPECT_GT(open_unit_interval(0), 0.0);
  EXPECT_EQ(open_unit_interval(~0ull), 1.0);  // 1 − 2^-54 rounds to 1: log(u1) stays finite either way
  EXPECT_EQ(below_multiply_shift(0, 7), 0u);
  EXPECT_EQ(below_multiply_shift(~0ull, 7), 6u);
}

TEST(Random, BoxMullerFirstIsTheFirstOfThePair) {
  for (double u1 : {1e-9, 0.25, 0.5, 1.0})
    for (double u2 : {0.0, 0.3, 0.75}) EXPECT_EQ(box_muller_first(u1, u2), box_muller(u1, u2).first);
  const NormalPair p = box_muller(std::exp(-0.5), 0.0);  // r = 1, angle 0
  EXPECT_DOUBLE_EQ(p.first, 1.0);
  EXPECT_DOUBLE_EQ(p.second, 0.0);
}

class GaussianGuards : public ::testing::TestWithParam<GaussianMt64::ZeroGuard> {};

TEST_P(GaussianGuards, DeterministicStandardNormals) {
  GaussianMt64 a(11, GetParam()), b(11, GetParam()), c(12, GetParam());
  constexpr int kN = 200000;
  double sum = 0, sq = 0;
  int beyond2 = 0, differ = 0;
  for (int i = 0; i < kN; ++i) {
    const double x = a();
    ASSERT_TRUE(std::isfinite(x));
    ASSERT_EQ(x, b());
    differ += x != c();
    sum += x;
    sq += x * x;
    beyond2 += std::fabs(x) > 2.0;
  }
  EXPECT_GT(differ, kN - 10);
  EXPECT_NEAR(sum / kN, 0.0, 0.01);
  EXPECT_NEAR(sq / kN, 1.0, 0.015);
  EXPECT_NEAR(static_cast<double>(beyond2) / kN, 0.0455, 0.003);  // P(|Z| > 2)
}

INSTANTIATE_TEST_SUITE_P(Both, GaussianGuards,
                         ::testing::Values(GaussianMt64::ZeroGuard::kCellCentre, GaussianMt64::ZeroGuard::kRedraw));

TEST(GaussianMt64, CellCentreGuardIsBoxMullerOnMt19937_64) {
  GaussianMt64 g(5, GaussianMt64::ZeroGuard::kCellCentre);
  std::mt19937_64 raw(5);
  for (int i = 0; i < 20; ++i) {
    const double u1 = open_unit_interval(raw()), u2 = unit_interval(raw());
    const NormalPair p = box_muller(u1, u2);
    EXPECT_EQ(g(), p.first);
    EXPECT_EQ(g(), p.second);
  }
}

TEST(Bounded, InRangeAndUnbiased) {
  std::mt19937_64 g(9);
  std::vector<int> hist(6, 0);
  for (int i = 0; i < 60000; ++i) {
    const uint64_t v = bounded(g, 6);
    ASSERT_LT(v, 6u);
    ++hist[v];
  }
  for (int h : hist) EXPECT_NEAR(h, 10000, 400);
  EXPECT_EQ(bounded(g, 1), 0u);
}

TEST(Shuffle, DeterministicPermutationThatDependsOnTheSeed) {
  std::vector<int> base(100);
  std::iota(base.begin(), base.end(), 0);
  auto shuffled = [&](uint64_t seed) {
    std::vector<int> v = base;
    std::mt19937_64 g(seed);
    shuffle(v, g);
    return v;
  };
  const std::vector<int> a = shuffled(1), b = shuffled(1), c = shuffled(2);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, base);
  std::vector<int> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, base);
  // Every position is reachable: over many seeds element 0 lands in each of 4 slots.
  std::vector<int> small(4), where(4, 0);
  for (uint64_t s = 0; s < 4000; ++s) {
    std::iota(small.begin(), small.end(), 0);
    std::mt19937_64 g(s);
    shuffle(small, g);
    ++where[static_cast<size_t>(std::find(small.begin(), small.end(), 0) - small.begin())];
  }
  for (int w : where) EXPECT_NEAR(w, 1000, 150);
}

}  // namespace
}  // namespace lumaflow
