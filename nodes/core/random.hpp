// Seeded random numbers: the one place the project draws them from.
//
// Everything here is specified in this file (never a std::*_distribution, whose output is
// implementation-defined), so a seed gives the same stream on every platform and standard library.
// Two engines stay because existing outputs must remain bit-identical: SplitMix64 (synthetic
// faces, UMAP) and std::mt19937_64, whose output the C++ standard fixes (PCA, t-SNE, splits).
// Nothing here holds global state: every stream starts from an explicit seed.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "nodes/core/hash.hpp"

namespace lumaflow {

// [0, 1) from the top 53 bits of a 64-bit draw.
inline double unit_interval(uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }

// (0, 1]: the centre of the same 53-bit cell, never 0 (a safe argument for log); the top cell
// rounds to 1.
inline double open_unit_interval(uint64_t bits) { return (static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53; }

// [0, n) by multiply-shift of the top 32 bits: one draw, bias below 2^-32 · n.
inline uint32_t below_multiply_shift(uint64_t bits, uint32_t n) {
  return static_cast<uint32_t>(((bits >> 32) * static_cast<uint64_t>(n)) >> 32);
}

// Box–Muller for u1 in (0, 1], u2 in [0, 1): two independent standard normals.
struct NormalPair {
  double first, second;
};
inline NormalPair box_muller(double u1, double u2) {
  const double r = std::sqrt(-2.0 * std::log(u1)), th = 6.283185307179586 * u2;
  return {r * std::cos(th), r * std::sin(th)};
}
// The first normal of box_muller(u1, u2) alone.
inline double box_muller_first(double u1, double u2) {
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// Serves Box–Muller normals one at a time: draw() makes a pair, whose second normal is what the
// next call returns.
class NormalPairs {
 public:
  template <class Draw>
  double next(Draw&& draw) {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const NormalPair p = draw();
    spare_ = p.second;
    has_spare_ = true;
    return p.first;
  }

 private:
  double spare_ = 0;
  bool has_spare_ = false;
};

// SplitMix64 (Steele, Lea, Flood 2014): the state advances by the golden-ratio increment and
// each output is mix64 of it. Tiny and fast; statistically fine for procedural content and
// sampling. Also a UniformRandomBitGenerator.
class SplitMix64 {
 public:
  using result_type = uint64_t;
  explicit SplitMix64(uint64_t state) : state_(state) {}
  static constexpr uint64_t min() { return 0; }
  static constexpr uint64_t max() { return std::numeric_limits<uint64_t>::max(); }
  uint64_t next() { return mix64(state_ += 0x9E3779B97F4A7C15ull); }
  uint64_t operator()() { return next(); }
  double uniform() { return unit_interval(next()); }  // [0, 1)
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  int below(int n) { return std::min(n - 1, static_cast<int>(uniform() * n)); }  // [0, n), n > 0
  bool chance(double p) { return uniform() < p; }
  // Standard normal, Box–Muller on two uniforms (u1 kept ≥ 1e-300), pairs served in turn.
  double normal() {
    return normals_.next([this] {
      const double u1 = std::max(uniform(), 1e-300), u2 = uniform();
      return box_muller(u1, u2);
    });
  }

 private:
  uint64_t state_;
  NormalPairs normals_;
};

// Standard normals from std::mt19937_64 by Box–Muller, pairs served in turn. How u1 avoids 0
// is part of the stream: kCellCentre takes the centre of the 53-bit cell (open_unit_interval);
// kRedraw draws again while u1 is 0.
class GaussianMt64 {
 public:
  enum class ZeroGuard { kCellCentre, kRedraw };
  GaussianMt64(uint64_t seed, ZeroGuard guard) : g_(seed), guard_(guard) {}
  double operator()() {
    return normals_.next([this] {
      double u1;
      if (guard_ == ZeroGuard::kCellCentre) {
        u1 = open_unit_interval(g_());
      } else {
        do u1 = unit_interval(g_());
        while (u1 <= 0.0);
      }
      const double u2 = unit_interval(g_());
      return box_muller(u1, u2);
    });
  }

 private:
  std::mt19937_64 g_;
  ZeroGuard guard_;
  NormalPairs normals_;
};

// Uniform in [0, m), m > 0, without bias: draws at or above the largest multiple of m are
// rejected, then the remainder is taken.
template <class Engine>
uint64_t bounded(Engine& g, uint64_t m) {
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % m;
  uint64_t v;
  do v = g();
  while (v >= limit);
  return v % m;
}

// Fisher–Yates with bounded() (std::shuffle's draws are implementation-defined).
template <class T, class Engine>
void shuffle(std::vector<T>& v, Engine& g) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<size_t>(bounded(g, i))]);
}

}  // namespace lumaflow
