#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <random>

#include "nodes/store/store.hpp"
#include "test_util.hpp"

using namespace lumaflow;

namespace {

EmbeddingStore make_store(size_t n, int size, uint64_t seed) {
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
    r.path = "p" + std::to_string(i % 3) + "/img" + std::to_string(i) + ".png";
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

RecordInfo rec(const std::string& path, int label) {
  RecordInfo r;
  r.path = path;
  r.label = label;
  return r;
}

void expect_equal(const EmbeddingStore& a, const EmbeddingStore& b) {
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(a.header().labels, b.header().labels);
  EXPECT_TRUE(a.header().prep == b.header().prep);
  EXPECT_EQ(a.all_pixels(), b.all_pixels());
  for (size_t i = 0; i < a.size(); ++i) {
    const auto &x = a.record(i), &y = b.record(i);
    EXPECT_EQ(x.path, y.path);
    EXPECT_EQ(x.label, y.label);
    EXPECT_EQ(x.source_width, y.source_width);
    EXPECT_EQ(x.content_hash, y.content_hash);
    EXPECT_EQ(x.face_index, y.face_index);
    EXPECT_EQ(x.box.has_value(), y.box.has_value());
    if (x.box && y.box) {
      EXPECT_EQ(x.box->height, y.box->height);
    }
    EXPECT_EQ(x.landmarks_found, y.landmarks_found);
  }
}

}  // namespace

TEST(Store, RoundTripIsBitExactAcrossSegments) {
  test::TempDir dir;
  const EmbeddingStore s = make_store(37, 16, 1);
  write_store(dir / "a.store", s, /*records_per_segment=*/10);
  LoadReport rep;
  const EmbeddingStore back = load_store(dir / "a.store", &rep);
  EXPECT_EQ(rep.segments, 4u);
  EXPECT_FALSE(rep.damage.has_value());
  expect_equal(s, back);
  EXPECT_FALSE(std::filesystem::exists(dir / "a.store.tmp"));
}

TEST(Store, MatrixIsPixelsOver255) {
  const EmbeddingStore s = make_store(5, 8, 2);
  const RowMatrixF m = s.matrix();
  ASSERT_EQ(m.rows(), 5);
  ASSERT_EQ(m.cols(), 64);
  EXPECT_FLOAT_EQ(m(3, 17), s.pixels(3)[17] / 255.0f);
}

TEST(Store, TruncatedTailKeepsIntactSegments) {
  test::TempDir dir;
  const EmbeddingStore s = make_store(30, 16, 3);
  write_store(dir / "t.store", s, 10);
  const auto full = std::filesystem::file_size(dir / "t.store");
  std::filesystem::resize_file(dir / "t.store", full - 100);
  LoadReport rep;
  const EmbeddingStore back = load_store(dir / "t.store", &rep);
  ASSERT_TRUE(rep.damage.has_value());
  EXPECT_NE(rep.damage->find("offset"), std::string::npos);
  EXPECT_EQ(back.size(), 20u);
  EXPECT_EQ(back.record(19).path, s.record(19).path);
}

TEST(Store, FlippedPixelIsCaughtByChecksum) {
  test::TempDir dir;
  const EmbeddingStore s = make_store(20, 16, 4);
  write_store(dir / "c.store", s, 10);
  auto bytes = test::read_all(dir / "c.store");
  // Flip one bit inside the last record's pixels (found by content), in the second segment.
  const uint8_t* px = s.pixels(19);
  const auto at = std::search(bytes.begin(), bytes.end(), px, px + s.dims());
  ASSERT_NE(at, bytes.end());
  at[100] ^= 0x40;
  test::write_bytes(dir / "c.store", bytes);
  LoadReport rep;
  const EmbeddingStore back = load_store(dir / "c.store", &rep);
  ASSERT_TRUE(rep.damage.has_value());
  EXPECT_EQ(back.size(), 10u);
}

TEST(Store, WhollyInvalidFilesAreRefusedWithThePath) {
  test::TempDir dir;
  test::write_text(dir / "junk.store", "definitely not a store, just some text that is long enough");
  try {
    load_store(dir / "junk.store");
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("junk.store"), std::string::npos);
  }
  test::write_text(dir / "empty.store", "");
  EXPECT_THROW(load_store(dir / "empty.store"), StoreError);
  EXPECT_THROW(load_store(dir / "missing.store"), StoreError);
}

TEST(Store, AppenderAddsSegmentsAndNewLabels) {
  test::TempDir dir;
  const EmbeddingStore s = make_store(4, 8, 5);
  write_store(dir / "a.store", s);
  {
    StoreAppender app(dir / "a.store", s.header());
    EXPECT_EQ(app.total_records(), 4u);
    const int dave = app.label_index("dave");
    EXPECT_EQ(dave, 3);
    std::vector<uint8_t> px(64, 7);
    app.add(rec("new/x.png", dave), px.data(), px.size());
    app.flush();
    app.add(rec("new/y.png", -1), px.data(), px.size());
  }  // destructor flushes
  const EmbeddingStore back = load_store(dir / "a.store");
  ASSERT_EQ(back.size(), 6u);
  EXPECT_EQ(back.header().labels.back(), "dave");
  EXPECT_EQ(back.record(4).label, 3);
  EXPECT_EQ(back.record(5).path, "new/y.png");
  EXPECT_EQ(back.pixels(5)[10], 7);
  StoreHeader other = s.header();
  other.prep.image_size = 9;
  EXPECT_THROW(StoreAppender(dir / "a.store", other), StoreError);
}

TEST(Store, AppenderCutsADamagedTailBeforeAppending) {
  test::TempDir dir;
  const EmbeddingStore s = make_store(20, 8, 6);
  write_store(dir / "d.store", s, 10);
  std::filesystem::resize_file(dir / "d.store", std::filesystem::file_size(dir / "d.store") - 5);
  {
    StoreAppender app(dir / "d.store", s.header());
    EXPECT_TRUE(app.damage().has_value());
    std::vector<uint8_t> px(64, 1);
    app.add(rec("late.png", 0), px.data(), px.size());
  }
  LoadReport rep;
  const EmbeddingStore back = load_store(dir / "d.store", &rep);
  EXPECT_FALSE(rep.damage.has_value());
  EXPECT_EQ(back.size(), 11u);
  EXPECT_EQ(back.record(10).path, "late.png");
}

TEST(Store, WriterWithoutCommitLeavesNothing) {
  test::TempDir dir;
  const EmbeddingStore s = make_store(3, 8, 7);
  {
    StoreWriter w(dir / "w.store", s.header(), 2);
    for (size_t i = 0; i < s.size(); ++i) w.add(s.record(i), s.pixels(i), s.dims());
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "w.store"));
  EXPECT_FALSE(std::filesystem::exists(dir / "w.store.tmp"));
  {
    StoreWriter w(dir / "w.store", s.header(), 2);
    for (size_t i = 0; i < s.size(); ++i) w.add(s.record(i), s.pixels(i), s.dims());
    w.commit();
  }
  expect_equal(s, load_store(dir / "w.store"));
}

TEST(Store, RejectsWrongPixelCountAndUnknownLabel) {
  EmbeddingStore s = make_store(0, 8, 8);
  std::vector<uint8_t> px(10);
  EXPECT_THROW(s.add(rec("a", 0), px.data(), px.size()), std::invalid_argument);
  px.resize(64);
  EXPECT_THROW(s.add(rec("a", 7), px.data(), px.size()), std::invalid_argument);
}
