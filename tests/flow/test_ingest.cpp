#include <gtest/gtest.h>
#include <unistd.h>

#include <map>

#include "flow/ingest.hpp"
#include "nodes/image/scan.hpp"
#include "test_util.hpp"

using namespace lumaflow;
namespace fs = std::filesystem;

namespace {

// A folder with good images of three people, one unlabelled image, and every kind of bad input.
struct Fixture {
  test::TempDir dir;
  size_t good = 0;
  std::vector<std::string> bad;  // file names expected in the skipped list

  Fixture() {
    const auto& root = dir.path();
    int k = 0;
    for (const char* person : {"ann", "bob", "cy"})
      for (int i = 0; i < 4; ++i, ++k) {
        const cv::Mat img = test::test_picture(120 + 10 * i, 150, i % 2 ? 3 : 1, static_cast<uint64_t>(k));
        const char* ext = i % 3 == 0 ? ".jpg" : i % 3 == 1 ? ".png" : ".pgm";
        cv::Mat out = img;
        if (std::string(ext) == ".pgm" && img.channels() == 3) out = test::test_picture(120, 150, 1, 99);
        test::write_bytes(root / person / ("img" + std::to_string(i) + ext), test::encode(out, ext));
        ++good;
      }
    test::write_bytes(root / "loose.bmp", test::encode(test::test_picture(64, 64, 3, 7), ".bmp"));
    ++good;
    // Convertible inputs count as good: 16-bit PNG and RGBA PNG.
    cv::Mat g16(80, 80, CV_16UC1, cv::Scalar(40000));
    test::write_bytes(root / "ann" / "deep16.png", test::encode(g16, ".png"));
    cv::Mat rgba(80, 80, CV_8UC4, cv::Scalar(10, 200, 30, 100));
    test::write_bytes(root / "bob" / "alpha.png", test::encode(rgba, ".png"));
    good += 2;
    // Bad inputs.
    test::write_text(root / "cy" / "empty.jpg", "");
    auto jpg = test::encode(test::test_picture(300, 300, 3, 8), ".jpg");
    jpg.resize(jpg.size() / 3);
    test::write_bytes(root / "cy" / "truncated.jpg", jpg);
    test::write_text(root / "cy" / "notes.jpg", "shopping list: milk, eggs\n");
    test::write_bytes(root / "cy" / "tiny.png", test::encode(cv::Mat(1, 1, CV_8UC1, cv::Scalar(3)), ".png"));
    auto huge = test::encode(test::test_picture(16, 16, 1, 9), ".png");
    for (int i = 0; i < 4; ++i) huge[16 + i] = huge[20 + i] = static_cast<uint8_t>(i == 1 ? 0x01 : 0x00);  // 65536²
    test::write_bytes(root / "cy" / "huge.png", huge);
    fs::create_symlink("loop.png", root / "bob" / "loop.png");         // a symlink loop
    fs::create_symlink("nowhere.png", root / "bob" / "dangling.png");  // unreadable
    test::write_bytes(root / "ann" / std::string("bad\xff\xfe.png"),
                      test::encode(test::test_picture(32, 32, 1, 10), ".png"));
    bad = {"empty.jpg", "truncated.jpg", "notes.jpg",    "tiny.png",
           "huge.png",  "loop.png",      "dangling.png", "bad\xff\xfe.png"};
    // Ignored without a report: hidden files and non-image extensions.
    test::write_text(root / "ann" / ".hidden.jpg", "x");
    test::write_text(root / "README.txt", "hello");
  }
};

IngestOptions small_options(int threads) {
  IngestOptions o;
  o.embed.size = 32;
  o.threads = threads;
  return o;
}

}  // namespace

TEST(Ingest, EveryBadInputIsReportedWithItsPathAndTheRunGoesOn) {
  Fixture fx;
  IngestSummary sum;
  const EmbeddingStore s = ingest_to_memory(fx.dir.path(), small_options(2), nullptr, &sum);
  EXPECT_EQ(s.size(), fx.good);
  EXPECT_EQ(sum.faces, fx.good);
  EXPECT_EQ(sum.skipped.size(), fx.bad.size());
  for (const auto& name : fx.bad) {
    bool found = false;
    for (const auto& p : sum.skipped)
      if (fs::path(p.path).filename() == name) {
        found = true;
        EXPECT_FALSE(p.reason.empty());
        EXPECT_NE(p.path.find(fx.dir.path().string()), std::string::npos) << "path not absolute: " << p.path;
      }
    EXPECT_TRUE(found) << name << " not reported";
  }
  EXPECT_EQ(s.header().labels, (std::vector<std::string>{"ann", "bob", "cy"}));
  std::map<int, int> per;
  for (const auto& r : s.records()) ++per[r.label];
  EXPECT_EQ(per[-1], 1);  // loose.bmp
  EXPECT_EQ(per[0], 5);   // 4 + deep16
  EXPECT_EQ(per[1], 5);   // 4 + alpha
  EXPECT_EQ(per[2], 4);
}

TEST(Ingest, GraphEqualsSequentialLoopByteForByte) {
  Fixture fx;
  const ScanResult scan = scan_directory(fx.dir.path());
  const IngestOptions opt = small_options(1);
  {
    StoreWriter w(fx.dir / "seq.store", make_header(opt, scan.labels));
    for (size_t i = 0; i < scan.entries.size(); ++i) {
      const FrameResult r = process_frame(i, scan.entries[i], opt.embed);
      for (const auto& f : r.faces) w.add(record_info(r, f), f.pixels.data(), f.pixels.size());
    }
    w.commit();
  }
  const auto reference = test::read_all(fx.dir / "seq.store");
  for (int threads : {1, 2}) {
    IngestOptions o = small_options(threads);
    o.max_in_flight = threads == 1 ? 1 : 3;
    ingest_to_file(fx.dir.path(), fx.dir / "graph.store", o, nullptr);
    EXPECT_EQ(test::read_all(fx.dir / "graph.store"), reference) << threads << " threads";
  }
}

TEST(Ingest, SinkSeesEveryFrameOnceInOrder) {
  Fixture fx;
  const ScanResult scan = scan_directory(fx.dir.path());
  std::vector<uint64_t> seen;
  IngestOptions o = small_options(2);
  o.max_in_flight = 2;
  run_ingest(scan.entries, o, nullptr, [&](FrameResult&& r) { seen.push_back(r.seq); });
  ASSERT_EQ(seen.size(), scan.entries.size());
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i);
}

TEST(Ingest, SinkErrorStopsTheGraphAndIsRethrown) {
  Fixture fx;
  const ScanResult scan = scan_directory(fx.dir.path());
  size_t calls = 0;
  EXPECT_THROW(run_ingest(scan.entries, small_options(2), nullptr,
                          [&](FrameResult&&) {
                            if (++calls == 3) throw std::runtime_error("disk full");
                          }),
               std::runtime_error);
  EXPECT_GE(calls, 3u);
}

TEST(Ingest, MissingOrEmptyFolderIsAnError) {
  test::TempDir dir;
  EXPECT_THROW(ingest_to_memory(dir / "nope", small_options(1), nullptr), ScanError);
  fs::create_directories(dir / "empty" / "person");
  test::write_text(dir / "empty" / "person" / "notes.txt", "no images here");
  EXPECT_THROW(ingest_to_memory(dir / "empty", small_options(1), nullptr), ScanError);
}

TEST(Ingest, RealOrlIngestsCompletelyWithTheRightLabels) {
  LUMAFLOW_REQUIRE_DATA(orl, "orl");
  IngestSummary sum;
  IngestOptions o;
  o.threads = 2;
  const EmbeddingStore s = ingest_to_memory(orl, o, nullptr, &sum);
  EXPECT_TRUE(sum.skipped.empty());
  ASSERT_EQ(s.size(), 400u);
  ASSERT_EQ(s.header().labels.size(), 40u);
  EXPECT_EQ(s.header().labels.front(), "s1");
  EXPECT_EQ(s.header().labels.back(), "s40");
  std::map<int, int> per;
  for (const auto& r : s.records()) {
    ++per[r.label];
    EXPECT_EQ(r.path.substr(0, r.path.find('/')), s.header().labels[static_cast<size_t>(r.label)]);
    EXPECT_EQ(r.source_width, 92u);
    EXPECT_EQ(r.source_height, 112u);
  }
  for (const auto& [label, n] : per) EXPECT_EQ(n, 10) << "label " << label;
  EXPECT_EQ(s.dims(), 16384u);
}
