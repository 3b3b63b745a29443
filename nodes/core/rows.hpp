// RowSource: the rows of an n × d float matrix that need not exist as one matrix.
//
// A source reads any span of any row into a caller's buffer: from a matrix in memory, or on demand
// from elsewhere (a store's memory-mapped pixel bytes, nodes/store/store.hpp), optionally through
// a list of row indices (a training split, by index rather than by copy). Streaming numerics (PCA:
// fit and transform) read it in tiles of rows or of columns, so past a few thousand faces the
// n × d floats are never allocated. A view: whatever it reads must outlive it. Reads are
// thread-safe when the underlying reader is (matrix and store readers are).
// A source may also carry the exact Gram matrix of the underlying rows (with_gram): subsets keep
// it, and numerics that can work from inner products (PCA when d > n) read it instead of the rows.
#pragma once

#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "nodes/core/matrix.hpp"

namespace lumaflow {

class RowSource {
 public:
  // Writes `count` values of row `row`, columns [col, col + count), to out.
  using SpanReader = std::function<void(Eigen::Index row, Eigen::Index col, Eigen::Index count, float* out)>;

  // The rows of x (a view: x's storage must outlive the source).
  explicit RowSource(MatrixRefF x)
      : rows_(x.rows()),
        cols_(x.cols()),
        read_([data = x.data(), stride = x.outerStride()](Eigen::Index r, Eigen::Index c, Eigen::Index count,
                                                          float* out) {
          std::memcpy(out, data + r * stride + c, static_cast<size_t>(count) * sizeof(float));
        }) {}
  RowSource(Eigen::Index rows, Eigen::Index cols, SpanReader read) : rows_(rows), cols_(cols), read_(std::move(read)) {}

  Eigen::Index rows() const { return index_ ? static_cast<Eigen::Index>(index_->size()) : rows_; }
  Eigen::Index cols() const { return cols_; }

  // The rows idx[0], idx[1], … of this source (indices into this source's rows).
  RowSource subset(const std::vector<int>& idx) const {
    auto mapped = std::make_shared<std::vector<Eigen::Index>>();
    mapped->reserve(idx.size());
    for (int i : idx) {
      if (i < 0 || i >= rows())
        throw std::out_of_range("RowSource::subset: row " + std::to_string(i) + " of " + std::to_string(rows()));
      mapped->push_back(base_row(i));
    }
    RowSource s(rows_, cols_, read_);
    s.index_ = std::move(mapped);
    s.gram_ = gram_;
    return s;
  }

  // The same rows, with g = X·Xᵀ of the underlying rows (the full source's, before any subset;
  // e.g. gram_matrix in nodes/analysis/pca.hpp). A view: g must outlive the source.
  RowSource with_gram(const Eigen::MatrixXd& g) const {
    if (g.rows() != rows_ || g.cols() != rows_)
      throw std::invalid_argument("RowSource::with_gram: a " + std::to_string(rows_) + " × " + std::to_string(rows_) +
                                  " Gram matrix needed, got " + std::to_string(g.rows()) + " × " +
                                  std::to_string(g.cols()));
    RowSource s = *this;
    s.gram_ = &g;
    return s;
  }
  bool has_gram() const { return gram_ != nullptr; }
  // The Gram matrix of this source's rows (rows() × rows()), from the attached one.
  Eigen::MatrixXd gram() const {
    if (!gram_) throw std::logic_error("RowSource::gram: no Gram matrix attached");
    const Eigen::Index n = rows();
    Eigen::MatrixXd g(n, n);
    for (Eigen::Index j = 0; j < n; ++j)
      for (Eigen::Index i = 0; i < n; ++i) g(i, j) = (*gram_)(base_row(i), base_row(j));
    return g;
  }

  void read(Eigen::Index row, Eigen::Index col, Eigen::Index count, float* out) const {
    read_(base_row(row), col, count, out);
  }
  // Rows [r0, r0 + n) × columns [c0, c0 + m).
  RowMatrixF block(Eigen::Index r0, Eigen::Index n, Eigen::Index c0, Eigen::Index m) const {
    RowMatrixF out(n, m);
    for (Eigen::Index i = 0; i < n; ++i) read(r0 + i, c0, m, out.row(i).data());
    return out;
  }
  RowMatrixF row_block(Eigen::Index r0, Eigen::Index n) const { return block(r0, n, 0, cols_); }
  // Every row as one matrix: for the small sets whose numerics want it whole.
  RowMatrixF matrix() const { return row_block(0, rows()); }

 private:
  Eigen::Index base_row(Eigen::Index i) const { return index_ ? (*index_)[static_cast<size_t>(i)] : i; }

  Eigen::Index rows_ = 0, cols_ = 0;
  SpanReader read_;
  std::shared_ptr<const std::vector<Eigen::Index>> index_;  // rows of the underlying reader
  const Eigen::MatrixXd* gram_ = nullptr;                   // of the underlying rows, when attached
};

}  // namespace lumaflow
