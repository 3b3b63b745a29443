// What damage costs a store: only the damaged segments, never a silent change, never a crash.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <cstring>
#include <random>

#include "nodes/store/frame.hpp"
#include "nodes/store/store.hpp"
#include "store_fixtures.hpp"
#include "test_util.hpp"

using namespace lumaflow;
using namespace lumaflow::test;

namespace {

// Byte offset where each frame starts.
std::vector<size_t> frame_offsets(const std::vector<uint8_t>& bytes) {
  std::vector<size_t> out;
  size_t off = 0;
  while (off < bytes.size()) {
    const auto f = read_frame(kStoreMagic, bytes.data() + off, bytes.size() - off);
    if (!f) break;
    out.push_back(off);
    off += f->total;
  }
  return out;
}

// Records of `s` except those in [skip_begin, skip_end).
std::vector<std::string> paths_without(const EmbeddingStore& s, size_t skip_begin, size_t skip_end) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size(); ++i)
    if (i < skip_begin || i >= skip_end) out.push_back(s.record(i).path);
  return out;
}

std::vector<std::string> paths(const EmbeddingStore& s) { return paths_without(s, 0, 0); }

}  // namespace

TEST(StoreDamage, TruncatedTailKeepsIntactSegments) {
  TempDir dir;
  const EmbeddingStore s = make_store(30, 16, 3);
  write_store(dir / "t.store", s, 10 * 256);
  std::filesystem::resize_file(dir / "t.store", std::filesystem::file_size(dir / "t.store") - 100);
  LoadReport rep;
  const EmbeddingStore back = load_store(dir / "t.store", &rep);
  ASSERT_TRUE(rep.damage.has_value());
  EXPECT_NE(rep.damage->find("offset"), std::string::npos);
  EXPECT_EQ(paths(back), paths_without(s, 20, 30));
}

TEST(StoreDamage, AFlippedByteInTheMiddleKeepsEverySegmentBeforeAndAfter) {
  TempDir dir;
  const EmbeddingStore s = make_store(50, 16, 4);
  write_store(dir / "m.store", s, 10 * 256);
  auto bytes = read_all(dir / "m.store");
  const auto frames = frame_offsets(bytes);
  ASSERT_EQ(frames.size(), 6u);
  bytes[frames[2] + 500] ^= 0x10;  // inside the second record segment: records 10..19
  write_bytes(dir / "m.store", bytes);
  LoadReport rep;
  const EmbeddingStore back = load_store(dir / "m.store", &rep);
  ASSERT_EQ(rep.damaged.size(), 1u);
  EXPECT_EQ(rep.damaged[0].offset, frames[2]);
  EXPECT_EQ(rep.damaged[0].length, frames[3] - frames[2]);
  EXPECT_EQ(paths(back), paths_without(s, 10, 20));
  EXPECT_EQ(back.pixels(10)[7], s.pixels(20)[7]);
}

TEST(StoreDamage, MarkerBytesInsidePixelsDoNotFoolTheResync) {
  TempDir dir;
  EmbeddingStore s = make_store(0, 16, 5);
  // Records whose pixels are full of frame markers with plausible lengths, at 8-aligned file
  // offsets somewhere: a resync that trusted the marker would read garbage.
  std::vector<uint8_t> px(256);
  for (size_t i = 0; i < px.size(); ++i) px[i] = kStoreMagic[i % 8];
  for (int i = 0; i < 30; ++i) s.add(rec(numbered("m", static_cast<size_t>(i)), 0), px.data(), px.size());
  write_store(dir / "k.store", s, 5 * 256);
  auto bytes = read_all(dir / "k.store");
  const auto frames = frame_offsets(bytes);
  ASSERT_EQ(frames.size(), 7u);
  bytes[frames[1] + 9] ^= 0x01;  // the first record segment's length field
  write_bytes(dir / "k.store", bytes);
  LoadReport rep;
  const EmbeddingStore back = load_store(dir / "k.store", &rep);
  ASSERT_EQ(rep.damaged.size(), 1u);
  EXPECT_EQ(rep.damaged[0].offset, frames[1]);
  EXPECT_EQ(rep.damaged[0].offset + rep.damaged[0].length, frames[2]);
  EXPECT_EQ(paths(back), paths_without(s, 0, 5));
}

TEST(StoreDamage, EveryFlipInTheHeaderSegmentIsRefused) {
  TempDir dir;
  write_store(dir / "h.store", make_store(4, 8, 6));
  const auto bytes = read_all(dir / "h.store");
  const auto frames = frame_offsets(bytes);
  ASSERT_GE(frames.size(), 2u);
  for (size_t at = 0; at < frames[1]; ++at) {
    auto flipped = bytes;
    flipped[at] ^= 0x20;
    write_bytes(dir / "x.store", flipped);
    LoadReport rep;
    try {
      const EmbeddingStore back = load_store(dir / "x.store", &rep);
      // Only the padding after the header payload may change without consequence.
      const auto f = read_frame(kStoreMagic, bytes.data(), bytes.size());
      EXPECT_GE(at, kFrameHeaderBytes + f->size) << "flip at " << at << " was accepted";
      EXPECT_EQ(back.header().labels, (std::vector<std::string>{"alice", "bob", "carol"}));
    } catch (const StoreError& e) {
      EXPECT_NE(std::string(e.what()).find("x.store"), std::string::npos);
    }
  }
}

TEST(StoreDamage, TwoHundredRandomFlipsAreNeverSilent) {
  TempDir dir;
  const EmbeddingStore s = make_store(60, 16, 7);
  write_store(dir / "r.store", s, 8 * 256);
  const auto bytes = read_all(dir / "r.store");
  std::mt19937_64 rng(2026);
  int refused = 0, reported = 0, unchanged = 0;
  for (int t = 0; t < 200; ++t) {
    auto flipped = bytes;
    flipped[rng() % flipped.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    write_bytes(dir / "x.store", flipped);
    LoadReport rep;
    try {
      const EmbeddingStore back = load_store(dir / "x.store", &rep);
      if (rep.damage) {
        ++reported;
        EXPECT_LT(back.size(), s.size());
      } else {
        ++unchanged;  // a flip in padding: every value must be as written
        expect_same_store(s, back);
      }
    } catch (const StoreError&) {
      ++refused;
    }
  }
  EXPECT_EQ(refused + reported + unchanged, 200);
  EXPECT_GT(reported, 150);
}

TEST(StoreDamage, ASecondHeaderEndsTheStore) {
  TempDir dir;
  const EmbeddingStore a = make_store(12, 8, 8), b = make_store(9, 8, 9);
  write_store(dir / "a.store", a);
  write_store(dir / "b.store", b);
  auto bytes = read_all(dir / "a.store");
  const auto tail = read_all(dir / "b.store");
  const size_t second = bytes.size();
  bytes.insert(bytes.end(), tail.begin(), tail.end());
  write_bytes(dir / "c.store", bytes);
  LoadReport rep;
  const EmbeddingStore c = load_store(dir / "c.store", &rep);
  expect_same_store(a, c);
  ASSERT_TRUE(rep.second_header);
  EXPECT_EQ(*rep.second_header, second);
  ASSERT_TRUE(rep.damage);
  EXPECT_NE(rep.damage->find("second store header"), std::string::npos);
}

TEST(StoreDamage, RepairMovesTheOriginalAsideAndKeepsEveryIntactRecord) {
  TempDir dir;
  const EmbeddingStore s = make_store(40, 16, 10);
  write_store(dir / "p.store", s, 10 * 256);
  auto bytes = read_all(dir / "p.store");
  bytes[frame_offsets(bytes)[2] + 300] ^= 0x04;
  write_bytes(dir / "p.store", bytes);
  const auto r = repair_store(dir / "p.store");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->records_kept, 30u);
  EXPECT_EQ(read_all(r->moved_to), bytes);
  EXPECT_NE(r->summary().find("kept 30 records"), std::string::npos);
  LoadReport rep;
  EXPECT_EQ(paths(load_store(dir / "p.store", &rep)), paths_without(s, 10, 20));
  EXPECT_TRUE(rep.intact());
  EXPECT_FALSE(repair_store(dir / "p.store"));  // nothing left to repair
}

TEST(StoreDamage, AppendingToADamagedStoreRepairsInsteadOfTruncating) {
  TempDir dir;
  const EmbeddingStore s = make_store(30, 16, 11);
  write_store(dir / "d.store", s, 10 * 256);
  auto bytes = read_all(dir / "d.store");
  bytes[frame_offsets(bytes)[1] + 100] ^= 0x01;  // records 0..9
  write_bytes(dir / "d.store", bytes);
  {
    StoreAppender app(dir / "d.store", s.header());
    ASSERT_TRUE(app.repaired());
    EXPECT_EQ(app.total_records(), 20u);
    std::vector<uint8_t> px(256, 1);
    app.add(rec("late.png", 0), px.data(), px.size());
  }
  LoadReport rep;
  const EmbeddingStore back = load_store(dir / "d.store", &rep);
  EXPECT_TRUE(rep.intact());
  auto want = paths_without(s, 0, 10);
  want.push_back("late.png");
  EXPECT_EQ(paths(back), want);
}

TEST(StoreDamage, AppenderAddsSegmentsAndNewLabels) {
  TempDir dir;
  const EmbeddingStore s = make_store(4, 8, 5);
  write_store(dir / "a.store", s);
  {
    StoreAppender app(dir / "a.store", s.header());
    EXPECT_FALSE(app.repaired());
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

TEST(StoreDamage, ASecondWriterIsToldWhoHoldsTheStore) {
  TempDir dir;
  const EmbeddingStore s = make_store(2, 8, 12);
  write_store(dir / "l.store", s);
  StoreAppender first(dir / "l.store", s.header());
  try {
    StoreAppender second(dir / "l.store", s.header());
    FAIL() << "a second appender got the lock";
  } catch (const StoreError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("in use by process " + std::to_string(::getpid())), std::string::npos) << m;
    EXPECT_NE(m.find("l.store"), std::string::npos) << m;
  }
  first.close();
  StoreAppender third(dir / "l.store", s.header());  // released on close
}

// A full disk, simulated by a file size limit (EFBIG instead of ENOSPC: the same write error).
TEST(StoreDamage, AFailedAppendLeavesExactlyTheEarlierRecords) {
  TempDir dir;
  const EmbeddingStore s = make_store(5, 64, 13);  // 4 KiB a record
  write_store(dir / "f.store", s);
  const auto size_before = std::filesystem::file_size(dir / "f.store");
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  {
    StoreAppender app(dir / "f.store", s.header());
    std::vector<uint8_t> px(64 * 64, 9);
    app.add(rec("fits.png", 0), px.data(), px.size());
    app.flush();
    const auto size_ok = std::filesystem::file_size(dir / "f.store");
    EXPECT_GT(size_ok, size_before);
    rlimit lim = old;
    lim.rlim_cur = size_ok + 1000;  // room for part of the next segment only
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
    app.add(rec("too-big.png", 0), px.data(), px.size());
    EXPECT_THROW(app.flush(), StoreError);
    EXPECT_EQ(std::filesystem::file_size(dir / "f.store"), size_ok);  // the partial segment was rolled back
    setrlimit(RLIMIT_FSIZE, &old);
  }
  std::signal(SIGXFSZ, old_handler);
  LoadReport rep;
  const EmbeddingStore back = load_store(dir / "f.store", &rep);
  EXPECT_TRUE(rep.intact());
  ASSERT_EQ(back.size(), 6u);
  EXPECT_EQ(back.record(5).path, "fits.png");
}

// watch takes a segment back when the answers for its records could not be delivered.
TEST(StoreDamage, UndoLastFlushTakesExactlyThatSegmentBack) {
  TempDir dir;
  const EmbeddingStore s = make_store(3, 8, 6);
  write_store(dir / "u.store", s);
  const auto size0 = std::filesystem::file_size(dir / "u.store");
  {
    StoreAppender app(dir / "u.store", s.header());
    EXPECT_EQ(app.undo_last_flush(), 0u);  // nothing flushed yet
    std::vector<uint8_t> px(64, 3);
    app.add(rec("kept.png", 0), px.data(), px.size());
    app.flush();
    const auto size1 = std::filesystem::file_size(dir / "u.store");
    EXPECT_GT(size1, size0);
    const int eve = app.label_index("eve");
    app.add(rec("taken-back-1.png", eve), px.data(), px.size());
    app.add(rec("taken-back-2.png", -1), px.data(), px.size());
    app.flush();
    EXPECT_EQ(app.undo_last_flush(), 2u);
    EXPECT_EQ(std::filesystem::file_size(dir / "u.store"), size1);
    EXPECT_EQ(app.undo_last_flush(), 0u);  // once per flush
    EXPECT_EQ(app.total_records(), 4u);
    app.add(rec("after.png", eve), px.data(), px.size());  // the label table is written again
  }
  LoadReport rep;
  const EmbeddingStore back = load_store(dir / "u.store", &rep);
  EXPECT_TRUE(rep.intact());
  ASSERT_EQ(back.size(), 5u);
  EXPECT_EQ(back.record(3).path, "kept.png");
  EXPECT_EQ(back.record(4).path, "after.png");
  EXPECT_EQ(back.header().labels.at(static_cast<size_t>(back.record(4).label)), "eve");
}
