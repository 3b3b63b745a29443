// Test helper for tests/model: two classify() answers that must agree field by field.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "nodes/model/model.hpp"

namespace lumaflow::test {

// Same label, confidence, open-set verdict, distances and UMAP position for every face, exactly
// (a saved and reloaded model must answer bit for bit as the one in memory).
inline void expect_same_classifications(const std::vector<Classification>& a, const std::vector<Classification>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].label, b[i].label) << "face " << i;
    EXPECT_EQ(a[i].confidence, b[i].confidence) << "face " << i;
    EXPECT_EQ(a[i].known, b[i].known) << "face " << i;
    EXPECT_EQ(a[i].nearest, b[i].nearest) << "face " << i;
    EXPECT_EQ(a[i].ratio, b[i].ratio) << "face " << i;
    EXPECT_EQ(a[i].umap_x, b[i].umap_x) << "face " << i;
    EXPECT_EQ(a[i].umap_y, b[i].umap_y) << "face " << i;
  }
}

}  // namespace lumaflow::test
