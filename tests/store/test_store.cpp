// The store as a value and as a file: round trips, bounded segments, learned records, format 1.
#include <gtest/gtest.h>

#include <cstring>

#include "nodes/store/frame.hpp"
#include "nodes/store/store.hpp"
#include "store_fixtures.hpp"
#include "test_util.hpp"

using namespace lumaflow;
using namespace lumaflow::test;

TEST(Store, RoundTripIsBitExactAcrossSegments) {
  TempDir dir;
  const EmbeddingStore s = make_store(37, 16, 1);
  write_store(dir / "a.store", s, /*max_segment_bytes=*/10 * 256);
  LoadReport rep;
  const EmbeddingStore back = load_store(dir / "a.store", &rep);
  EXPECT_EQ(rep.segments, 5u);  // header + 10 + 10 + 10 + 7
  EXPECT_EQ(rep.format_version, kStoreFormatVersion);
  EXPECT_TRUE(rep.intact());
  EXPECT_EQ(rep.bytes_ok, rep.file_size);
  expect_same_store(s, back);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);  // no temp file left
}

TEST(Store, EveryFileStartsWithAFramedHeaderAndSegmentsAreAligned) {
  TempDir dir;
  write_store(dir / "a.store", make_store(9, 5, 2), 2 * 25);
  const auto bytes = read_all(dir / "a.store");
  ASSERT_TRUE(starts_with_magic(kStoreMagic, bytes.data(), bytes.size()));
  EXPECT_EQ(bytes.size() % 8, 0u);
  size_t off = 0, frames = 0;
  while (off < bytes.size()) {
    const auto f = read_frame(kStoreMagic, bytes.data() + off, bytes.size() - off);
    ASSERT_TRUE(f) << "at " << off;
    off += f->total;
    ++frames;
  }
  EXPECT_EQ(frames, 1u + 5u);
}

TEST(Store, MatrixIsPixelsTimesOneOver255) {
  const EmbeddingStore s = make_store(5, 8, 2);
  const RowMatrixF m = s.matrix();
  ASSERT_EQ(m.rows(), 5);
  ASSERT_EQ(m.cols(), 64);
  EXPECT_EQ(m(3, 17), static_cast<float>(s.pixels(3)[17]) * (1.0f / 255.0f));
  const Thumbnail t = s.thumbnail(3);
  EXPECT_EQ(t.data, s.pixels(3));
  EXPECT_EQ(t.side, 8);
  EXPECT_EQ(t.channels, 1);
}

// rows() reads the same values as matrix(), from where the rows lie (the file's map after a
// load), for pixel and learned stores; a span of a row is that span of the matrix.
TEST(Store, RowsReadWhatMatrixCopies) {
  TempDir dir;
  write_store(dir / "p.store", make_store(30, 8, 3), 7 * 64);
  write_store(dir / "l.store", make_learned_store(11, 128, 12, 2), 4096);
  for (const char* name : {"p.store", "l.store"}) {
    const EmbeddingStore s = load_store(dir / name);
    const RowSource rows = s.rows();
    EXPECT_EQ(rows.rows(), static_cast<Eigen::Index>(s.size()));
    EXPECT_TRUE(rows.matrix() == s.matrix()) << name;
    EXPECT_TRUE(rows.block(4, 3, 5, 9) == s.matrix().block(4, 5, 3, 9)) << name;
  }
}

TEST(Store, CopiesAreDeepAndEqual) {
  const EmbeddingStore s = make_store(12, 8, 3);
  EmbeddingStore c = s;
  expect_same_store(s, c);
  EXPECT_NE(c.pixels(0), s.pixels(0));
  EmbeddingStore d;
  d = c;
  expect_same_store(s, d);
}

TEST(Store, LearnedRecordsRoundTripWithTheirThumbnails) {
  TempDir dir;
  const EmbeddingStore s = make_learned_store(25, 128, 12, 4);
  EXPECT_TRUE(s.learned());
  EXPECT_EQ(s.dims(), 128u);
  write_store(dir / "l.store", s, 4096);
  LoadReport rep;
  const EmbeddingStore back = load_store(dir / "l.store", &rep);
  EXPECT_TRUE(rep.intact());
  expect_same_store(s, back);
  EXPECT_EQ(back.header().prep.embedding, "resnet");
  EXPECT_EQ(back.header().prep.embedding_model, "test weights");
  EXPECT_EQ(back.vector(7)[3], s.vector(7)[3]);
  const RowMatrixF m = back.matrix();
  EXPECT_EQ(m(24, 127), s.vector(24)[127]);
  EXPECT_THROW(back.pixels(0), std::logic_error);
}

TEST(Store, KindsDoNotMix) {
  EmbeddingStore px = make_store(0, 4, 1);
  EmbeddingStore lv = make_learned_store(0, 8, 0, 1);
  std::vector<float> v(8);
  std::vector<uint8_t> p(16);
  EXPECT_THROW(px.add(rec("a", 0), v.data(), v.size(), nullptr, 0), std::invalid_argument);
  EXPECT_THROW(lv.add(rec("a", 0), p.data(), p.size()), std::invalid_argument);
  EXPECT_FALSE(px.header().prep.difference(lv.header().prep).empty());
}

TEST(Store, WriterMakesSegmentsOfBoundedSize) {
  TempDir dir;
  const EmbeddingStore s = make_store(40, 32, 5);  // 1 KiB a record
  {
    StoreWriter w(dir / "w.store", s.header(), 4096);
    for (size_t i = 0; i < s.size(); ++i) w.add(s.record(i), s.pixels(i), s.dims());
    w.commit();
  }
  LoadReport rep;
  expect_same_store(s, load_store(dir / "w.store", &rep));
  EXPECT_EQ(rep.segments, 1u + 10u);
  // Cutting the end loses the last segment only, not the whole store.
  std::filesystem::resize_file(dir / "w.store", std::filesystem::file_size(dir / "w.store") - 100);
  const EmbeddingStore cut = load_store(dir / "w.store", &rep);
  EXPECT_EQ(cut.size(), 36u);
  ASSERT_TRUE(rep.damage);
}

TEST(Store, WriterWithoutCommitLeavesNothing) {
  TempDir dir;
  const EmbeddingStore s = make_store(3, 8, 7);
  {
    StoreWriter w(dir / "w.store", s.header(), 64);
    for (size_t i = 0; i < s.size(); ++i) w.add(s.record(i), s.pixels(i), s.dims());
  }
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 0);
  {
    StoreWriter w(dir / "w.store", s.header(), 64);
    for (size_t i = 0; i < s.size(); ++i) w.add(s.record(i), s.pixels(i), s.dims());
    w.commit();
  }
  expect_same_store(s, load_store(dir / "w.store"));
}

TEST(Store, WritingOverADirectoryNamesIt) {
  TempDir dir;
  std::filesystem::create_directories(dir / "E.store");
  try {
    write_store(dir / "E.store", make_store(1, 4, 1));
    FAIL();
  } catch (const StoreError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find((dir / "E.store").string() + ":"), std::string::npos) << m;
    EXPECT_EQ(m.find(".tmp"), std::string::npos) << m;
    EXPECT_EQ(m.find("Success"), std::string::npos) << m;
  }
}

TEST(Store, RejectsWrongPixelCountAndUnknownLabel) {
  EmbeddingStore s = make_store(0, 8, 8);
  std::vector<uint8_t> px(10);
  EXPECT_THROW(s.add(rec("a", 0), px.data(), px.size()), std::invalid_argument);
  px.resize(64);
  EXPECT_THROW(s.add(rec("a", 7), px.data(), px.size()), std::invalid_argument);
}

TEST(Store, WhollyInvalidFilesAreRefusedWithThePath) {
  TempDir dir;
  write_text(dir / "junk.store", "definitely not a store, just some text that is long enough");
  try {
    load_store(dir / "junk.store");
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("junk.store"), std::string::npos);
  }
  write_text(dir / "empty.store", "");
  EXPECT_THROW(load_store(dir / "empty.store"), StoreError);
  EXPECT_THROW(load_store(dir / "missing.store"), StoreError);
  EXPECT_FALSE(is_store_file(dir / "junk.store"));
}

// tests/fixtures/v1: a store and model written by lumaflow before the format bump.
TEST(Store, FormatOneStoresStillLoadAndAreConvertedOnAppend) {
  TempDir dir;
  const auto fixture = std::filesystem::path(LUMAFLOW_SOURCE_DIR) / "tests" / "fixtures" / "v1" / "v1.store";
  EXPECT_TRUE(is_store_file(fixture));
  LoadReport rep;
  const EmbeddingStore v1 = load_store(fixture, &rep);
  EXPECT_EQ(rep.format_version, 1u);
  EXPECT_TRUE(rep.intact());
  ASSERT_EQ(v1.size(), 18u);
  EXPECT_EQ(v1.header().labels, (std::vector<std::string>{"person_00", "person_01", "person_02"}));
  EXPECT_EQ(v1.dims(), 24u * 24u);
  EXPECT_FALSE(v1.learned());
  for (size_t i = 0; i < v1.size(); ++i) EXPECT_EQ(v1.record(i).label, static_cast<int>(i / 6));

  std::filesystem::copy_file(fixture, dir / "v1.store");
  {
    StoreAppender app(dir / "v1.store", v1.header());
    ASSERT_TRUE(app.repaired());
    EXPECT_EQ(app.repaired()->moved_to, dir / "v1.store.v1");
    std::vector<uint8_t> px(v1.dims(), 3);
    app.add(rec("new.png", 1), px.data(), px.size());
  }
  const EmbeddingStore v2 = load_store(dir / "v1.store", &rep);
  EXPECT_EQ(rep.format_version, kStoreFormatVersion);
  ASSERT_EQ(v2.size(), 19u);
  for (size_t i = 0; i < 18; ++i) EXPECT_EQ(0, std::memcmp(v1.pixels(i), v2.pixels(i), v1.dims()));
  EXPECT_EQ(read_all(dir / "v1.store.v1"), read_all(fixture));  // the original is kept untouched
}
