// A minimal, deterministic parallel-for on std::thread.
//
// The numeric nodes must not depend on oneTBB (the graph owns TBB), yet some of them pay off
// in parallel (distance blocks, t-SNE forces). parallel_for splits [0, n) into contiguous
// chunks, one per thread, so a function that writes only its own indices gives identical
// results for any thread count. threads <= 0 means std::thread::hardware_concurrency().
#pragma once

#include <algorithm>
#include <cstddef>
#include <exception>
#include <functional>
#include <thread>
#include <vector>

namespace lumaflow {

inline int resolve_threads(int threads) {
  if (threads > 0) return threads;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

// Calls fn(begin, end) on disjoint chunks covering [0, n). Rethrows the first exception.
template <class Fn>
void parallel_chunks(std::ptrdiff_t n, int threads, Fn&& fn) {
  if (n <= 0) return;
  const int t = static_cast<int>(std::min<std::ptrdiff_t>(resolve_threads(threads), n));
  if (t <= 1) {
    fn(std::ptrdiff_t{0}, n);
    return;
  }
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(t));
  pool.reserve(static_cast<size_t>(t));
  for (int i = 0; i < t; ++i) {
    const std::ptrdiff_t b = n * i / t, e = n * (i + 1) / t;
    pool.emplace_back([&, i, b, e] {
      try {
        fn(b, e);
      } catch (...) {
        errors[static_cast<size_t>(i)] = std::current_exception();
      }
    });
  }
  for (auto& th : pool) th.join();
  for (auto& err : errors)
    if (err) std::rethrow_exception(err);
}

// Calls fn(i) for every i in [0, n).
template <class Fn>
void parallel_for(std::ptrdiff_t n, int threads, Fn&& fn) {
  parallel_chunks(n, threads, [&](std::ptrdiff_t b, std::ptrdiff_t e) {
    for (std::ptrdiff_t i = b; i < e; ++i) fn(i);
  });
}

// How a node spreads the independent pieces of one item (a frame's pyramid levels, its faces)
// over threads without owning any: each(n, fn) calls fn(i) for every i in [0, n), in any order
// and possibly concurrently, and returns when all are done (rethrowing a piece's exception).
// The graph supplies one backed by its own scheduler (flow/), so nodes stay free of oneTBB; an
// empty ForEach means in order, on the calling thread (for_each below). Callers must make the
// result independent of the order (each piece writes only its own slot).
using ForEach = std::function<void(std::ptrdiff_t n, const std::function<void(std::ptrdiff_t)>& fn)>;

inline void for_each(const ForEach& each, std::ptrdiff_t n, const std::function<void(std::ptrdiff_t)>& fn) {
  if (n <= 0) return;
  if (each && n > 1) {
    each(n, fn);
    return;
  }
  for (std::ptrdiff_t i = 0; i < n; ++i) fn(i);
}

}  // namespace lumaflow
