// RowSource: spans of rows from a matrix or a reader, subsets by index (and of subsets).
#include <gtest/gtest.h>

#include "nodes/core/rows.hpp"

using namespace lumaflow;

namespace {

RowMatrixF numbered(int n, int d) {
  RowMatrixF x(n, d);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) x(i, j) = static_cast<float>(100 * i + j);
  return x;
}

}  // namespace

TEST(RowSource, ReadsSpansAndBlocksOfAMatrix) {
  const RowMatrixF x = numbered(5, 7);
  const RowSource s(x);
  EXPECT_EQ(s.rows(), 5);
  EXPECT_EQ(s.cols(), 7);
  float out[3];
  s.read(3, 2, 3, out);
  EXPECT_EQ(out[0], 302.f);
  EXPECT_EQ(out[2], 304.f);
  EXPECT_TRUE(s.block(1, 2, 4, 3) == x.block(1, 4, 2, 3));
  EXPECT_TRUE(s.matrix() == x);
}

TEST(RowSource, ReadsARowBlockOfABiggerMatrix) {
  // A view of rows 1..3 of a matrix keeps the parent's row stride.
  const RowMatrixF x = numbered(6, 4);
  const RowSource s(MatrixRefF(x.middleRows(1, 3)));
  EXPECT_TRUE(s.matrix() == x.middleRows(1, 3));
}

TEST(RowSource, SubsetsMapThroughTheirIndices) {
  const RowMatrixF x = numbered(8, 3);
  const RowSource s(x);
  const RowSource a = s.subset({6, 1, 4, 1});
  ASSERT_EQ(a.rows(), 4);
  EXPECT_EQ(a.row_block(0, 1)(0, 0), 600.f);
  EXPECT_EQ(a.row_block(3, 1)(0, 2), 102.f);
  const RowSource b = a.subset({2, 0});  // rows 4 and 6 of x
  ASSERT_EQ(b.rows(), 2);
  EXPECT_TRUE(b.row_block(0, 1) == x.row(4));
  EXPECT_TRUE(b.row_block(1, 1) == x.row(6));
  EXPECT_THROW(a.subset({4}), std::out_of_range);
  EXPECT_THROW(a.subset({-1}), std::out_of_range);
}

TEST(RowSource, ReaderSourcesProduceTheirValuesOnDemand) {
  // A reader that makes values, as a store makes floats from its bytes: nothing is stored.
  int reads = 0;
  const RowSource s(1000000, 16, [&](Eigen::Index r, Eigen::Index c, Eigen::Index count, float* out) {
    ++reads;
    for (Eigen::Index j = 0; j < count; ++j) out[j] = static_cast<float>(r % 7 + c + j);
  });
  EXPECT_EQ(s.rows(), 1000000);
  const RowMatrixF b = s.block(999998, 2, 10, 6);
  EXPECT_EQ(reads, 2);
  EXPECT_EQ(b(0, 0), static_cast<float>(999998 % 7 + 10));
  EXPECT_EQ(b(1, 5), static_cast<float>(999999 % 7 + 15));
}
