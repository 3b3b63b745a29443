// Internal to nodes/analysis/dbscan.cpp: the two sources of pair distances its algorithms read —
// the rows themselves (float GEMM blocks, exact re-decisions from the rows in double) or a Gram
// matrix G = X·Xᵀ read in place (exact re-decisions from the rows when given, else from G).
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "nodes/analysis/dbscan.hpp"

namespace lumaflow::dbscan_pairs {

// |GEMM squared distance − exact squared distance| <= kBand · (‖a‖² + ‖b‖²). Float GEMM over
// d terms errs by about sqrt(d)·2⁻²⁴ relative to the norms; over all pairs of the 400 orl faces
// at 16384-d the worst error seen was 5e-6·(‖a‖²+‖b‖²) (uniform random rows 5e-7), so 1e-4 is a
// 20× margin while keeping the exact re-checks (O(d) each) to a thin slice of the pairs.
constexpr double kBand = 1e-4;

// |Gram squared distance − exact squared distance of the float rows| <= kGramBand·(‖a‖² + ‖b‖²).
// A Gram matrix of pixel rows is exact for the bytes / 255, while the rows hold those values
// rounded to float (relative error <= 2⁻²⁴ each): the distances differ by at most about
// 2.4e-7·(‖a‖²+‖b‖²), plus 1.2e-7 of that when stored as float in a RadiusGraph. 4e-6 is a
// 10× margin; the pairs inside it are a few per pass and are re-decided from the rows.
constexpr double kGramBand = 4e-6;

// Row scale factors (1/‖row‖ when normalising) and the squared norms of the scaled rows, in
// double. Every pass runs on the rows (or their Gram matrix) as given and applies the scales
// to its products, so no normalised copy of x is ever made.
struct Scaled {
  std::vector<double> scale;  // 1/‖row‖ when normalising (1 for zero rows), else 1
  std::vector<double> sq;     // ‖scale·row‖² (1 or 0 when normalising)
};

// From the squared norms of the rows.
inline Scaled scaled_from(const std::vector<double>& q, bool normalize) {
  const size_t n = q.size();
  Scaled s{std::vector<double>(n, 1.0), std::vector<double>(n, 0.0)};
  for (size_t i = 0; i < n; ++i) {
    if (normalize && q[i] > 0) {
      s.scale[i] = 1.0 / std::sqrt(q[i]);
      s.sq[i] = q[i] * s.scale[i] * s.scale[i];
    } else {
      s.sq[i] = normalize ? 0.0 : q[i];
    }
  }
  return s;
}

inline Scaled scaled_norms(MatrixRefF x, bool normalize) {
  std::vector<double> q(static_cast<size_t>(x.rows()));
  for (Eigen::Index i = 0; i < x.rows(); ++i) q[static_cast<size_t>(i)] = x.row(i).cast<double>().squaredNorm();
  return scaled_from(q, normalize);
}

// Squared distance of scaled rows i and j from their raw dot product g.
inline double scaled_sq(const Scaled& s, size_t i, size_t j, double g) {
  return s.sq[i] + s.sq[j] - 2.0 * s.scale[i] * s.scale[j] * g;
}

// Exact squared distance between scaled rows i and j of x, in double.
inline double exact_sq(MatrixRefF x, const std::vector<double>& scale, Eigen::Index i, Eigen::Index j) {
  return (x.row(i).cast<double>() * scale[static_cast<size_t>(i)] -
          x.row(j).cast<double>() * scale[static_cast<size_t>(j)])
      .squaredNorm();
}

// ---- pair sources -------------------------------------------------------------------------
//
// The algorithms below read squared distances through a source: size(), scaled() (the scales
// and squared norms), band() (|approximate − exact| <= band·(sq[i] + sq[j])), exact(i, j), and
// blocks of raw dot products handed to a callback as g with g(r, c):
//   dots(r0, rows, c0, f): rows r0 .. r0+rows against columns c0 .. n;
//   dots_of(idx, f): rows idx[r] against all columns.

// The rows themselves: float GEMM blocks, exact values from the rows in double.
class RowPairs {
 public:
  RowPairs(MatrixRefF x, bool normalize) : x_(x), s_(scaled_norms(x, normalize)) {}
  Eigen::Index size() const { return x_.rows(); }
  const Scaled& scaled() const { return s_; }
  static double band() { return kBand; }
  double exact(Eigen::Index i, Eigen::Index j) const { return exact_sq(x_, s_.scale, i, j); }
  template <class F>
  void dots(Eigen::Index r0, Eigen::Index rows, Eigen::Index c0, F&& f) const {
    const RowMatrixF g = x_.middleRows(r0, rows) * x_.middleRows(c0, x_.rows() - c0).transpose();
    f(g);
  }
  template <class F>
  void dots_of(const std::vector<Eigen::Index>& idx, F&& f) const {
    RowMatrixF rows(static_cast<Eigen::Index>(idx.size()), x_.cols());
    for (size_t r = 0; r < idx.size(); ++r) rows.row(static_cast<Eigen::Index>(r)) = x_.row(idx[r]);
    const RowMatrixF g = rows * x_.transpose();
    f(g);
  }

 private:
  MatrixRefF x_;
  Scaled s_;
};

// A Gram matrix G = X·Xᵀ read in place (column r of G is row r: G is symmetric); exact values
// from the rows X when given, else from G.
class GramPairs {
 public:
  GramPairs(const GramInput& in, bool normalize) : g_(in.gram), rows_(in.rows) {
    const Eigen::Index n = g_.rows();
    if (g_.cols() != n)
      throw std::invalid_argument("dbscan: the Gram matrix is " + std::to_string(n) + "×" + std::to_string(g_.cols()) +
                                  ", not square");
    if (rows_ && rows_->rows() != n)
      throw std::invalid_argument("dbscan: " + std::to_string(rows_->rows()) + " rows for a Gram matrix of " +
                                  std::to_string(n));
    std::vector<double> q(static_cast<size_t>(n));
    for (Eigen::Index i = 0; i < n; ++i) q[static_cast<size_t>(i)] = g_(i, i);
    s_ = scaled_from(q, normalize);
    if (rows_) row_scale_ = scaled_norms(*rows_, normalize).scale;
  }
  Eigen::Index size() const { return g_.rows(); }
  const Scaled& scaled() const { return s_; }
  static double band() { return kGramBand; }
  double exact(Eigen::Index i, Eigen::Index j) const {
    if (rows_) return exact_sq(*rows_, row_scale_, i, j);
    return scaled_sq(s_, static_cast<size_t>(i), static_cast<size_t>(j), g_(j, i));
  }
  template <class F>
  void dots(Eigen::Index r0, Eigen::Index /*rows*/, Eigen::Index c0, F&& f) const {
    f([&](Eigen::Index r, Eigen::Index c) { return g_(c0 + c, r0 + r); });
  }
  template <class F>
  void dots_of(const std::vector<Eigen::Index>& idx, F&& f) const {
    f([&](Eigen::Index r, Eigen::Index c) { return g_(c, idx[static_cast<size_t>(r)]); });
  }

 private:
  const Eigen::MatrixXd& g_;
  const RowMatrixF* rows_;
  Scaled s_;
  std::vector<double> row_scale_;
};

}  // namespace lumaflow::dbscan_pairs
