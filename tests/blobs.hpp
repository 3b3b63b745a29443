// Labelled Gaussian blobs for the numeric tests.
#pragma once

#include <cstdint>
#include <random>

#include "nodes/core/matrix.hpp"

namespace lumaflow::test {

struct Blobs {
  RowMatrixF x;  // rows blob by blob
  Labels y;      // 0..k-1
};

// k blobs of `per` points in d dimensions: blob c is centred at offset·(1, …, 1) + sep·e_(c mod d),
// with N(0, sigma²) noise on every coordinate drawn from std::mt19937_64(seed).
inline Blobs gaussian_blobs(int k, int per, int d, float sep, float sigma, uint64_t seed, float offset = 0.f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.f, sigma);
  Blobs b;
  b.x.resize(k * per, d);
  for (int c = 0; c < k; ++c)
    for (int i = 0; i < per; ++i) {
      const int r = c * per + i;
      for (int j = 0; j < d; ++j) b.x(r, j) = g(rng) + (offset + (j == c % d ? sep : 0.f));
      b.y.push_back(c);
    }
  return b;
}

}  // namespace lumaflow::test
