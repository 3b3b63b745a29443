// Small generated stores for the store tests.
#pragma once

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "nodes/store/store.hpp"

namespace lumaflow::test {

// prefix + i, built so that GCC 12's -Wrestrict false positive on "literal" + std::string&&
// (GCC bug 105329) does not fire.
inline std::string numbered(const char* prefix, size_t i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}

inline EmbeddingStore make_store(size_t n, int size, uint64_t seed) {
  StoreHeader h;
  h.prep.image_size = size;
  h.labels = {"alice", "bob", "carol"};
  h.created_by = "test";
  EmbeddingStore s(h);
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> px(static_cast<size_t>(size * size));
  for (size_t i = 0; i < n; ++i) {
    for (auto& p : px) p = static_cast<uint8_t>(rng());
    RecordInfo r;
    r.path = numbered("p", i % 3) + numbered("/img", i) + ".png";
    r.label = static_cast<int>(i % 4) - 1;  // includes unlabelled
    r.source_width = 100 + static_cast<uint32_t>(i);
    r.source_height = 50;
    r.content_hash = rng();
    r.face_index = static_cast<int>(i % 2);
    if (i % 2) r.box = FaceBox{1, 2, 3, 4};
    r.landmarks_found = i % 3 == 0;
    s.add(r, px.data(), px.size());
  }
  return s;
}

inline EmbeddingStore make_learned_store(size_t n, int dims, int thumb, uint64_t seed) {
  StoreHeader h;
  h.prep.image_size = 150;
  h.prep.embedding = "resnet";
  h.prep.dims = dims;
  h.prep.embedding_model = "test weights";
  h.prep.chip = "test chip";
  h.thumbnail_size = thumb;
  h.thumbnail_channels = 3;
  h.labels = {"ann", "ben"};
  EmbeddingStore s(h);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> v(static_cast<size_t>(dims));
  std::vector<uint8_t> t(static_cast<size_t>(thumb * thumb * 3));
  for (size_t i = 0; i < n; ++i) {
    for (auto& x : v) x = g(rng);
    for (auto& b : t) b = static_cast<uint8_t>(rng());
    RecordInfo r;
    r.path = numbered("f", i) + ".jpg";
    r.label = static_cast<int>(i % 3) - 1;
    s.add(r, v.data(), v.size(), t.data(), t.size());
  }
  return s;
}

inline RecordInfo rec(const std::string& path, int label) {
  RecordInfo r;
  r.path = path;
  r.label = label;
  return r;
}

// Same records, labels, vectors and header (format version aside).
inline void expect_same_store(const EmbeddingStore& a, const EmbeddingStore& b) {
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(a.header().labels, b.header().labels);
  EXPECT_TRUE(a.header().prep == b.header().prep) << a.header().prep.difference(b.header().prep);
  std::vector<float> ra(a.dims()), rb(b.dims());
  for (size_t i = 0; i < a.size(); ++i) {
    const auto &x = a.record(i), &y = b.record(i);
    EXPECT_EQ(x.path, y.path);
    EXPECT_EQ(x.label, y.label);
    EXPECT_EQ(x.source_width, y.source_width);
    EXPECT_EQ(x.source_height, y.source_height);
    EXPECT_EQ(x.content_hash, y.content_hash);
    EXPECT_EQ(x.face_index, y.face_index);
    EXPECT_EQ(x.landmarks_found, y.landmarks_found);
    ASSERT_EQ(x.box.has_value(), y.box.has_value());
    if (x.box) {
      EXPECT_EQ(x.box->x, y.box->x);
      EXPECT_EQ(x.box->height, y.box->height);
    }
    a.row(i, ra.data());
    b.row(i, rb.data());
    ASSERT_EQ(ra, rb) << "record " << i;
    const Thumbnail ta = a.thumbnail(i), tb = b.thumbnail(i);
    ASSERT_EQ(ta.side, tb.side);
    ASSERT_EQ(ta.channels, tb.channels);
    if (ta.data) {
      EXPECT_EQ(0, std::memcmp(ta.data, tb.data, static_cast<size_t>(ta.side * ta.side * ta.channels)));
    }
  }
}

}  // namespace lumaflow::test
