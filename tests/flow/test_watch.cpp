// The watch graph in process: arrivals classified in order, stored, errors answered.
#include "watch_fixtures.hpp"

namespace lumaflow {
namespace {
using namespace lumaflow::watch_test;  // fs, json, TempDir and the fixtures

// The watch graph in process.

// run_watch on a thread, its answer lines collected as JSON.
class WatchRun {
 public:
  WatchRun(FolderWatcher& w, const WatchOptions& opt, UnknownTracker* tracker) : w_(w) {
    t_ = std::thread([this, opt, tracker] {
      sum_ = run_watch(w_, small_model(), opt, nullptr, tracker, [this](const std::string& l) {
        std::lock_guard lk(mu_);
        lines_.push_back(json::parse(l));
      });
    });
  }
  ~WatchRun() { finish(); }

  // Waits (at most 20 s) until the sink has collected `n` lines.
  void wait_for(size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lk(mu_);
        if (lines_.size() >= n) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  // Stops the watcher, joins, and returns the summary; lines() is stable afterwards.
  WatchSummary finish() {
    if (t_.joinable()) {
      w_.stop();
      t_.join();
    }
    return sum_;
  }
  const std::vector<json>& lines() const { return lines_; }

 private:
  FolderWatcher& w_;
  std::mutex mu_;
  std::vector<json> lines_;
  WatchSummary sum_;
  std::thread t_;
};

TEST(WatchGraph, ClassifiesArrivalsInOrderAndStoresThem) {
  TempDir d;
  const fs::path in = d / "in", store = d / "s.store";
  fs::create_directories(in);
  FolderWatcher w(in);
  WatchOptions opt;
  opt.threads = 2;
  opt.store = store;
  UnknownTracker tracker(open_set_params(small_model()));
  WatchRun run(w, opt, &tracker);
  for (int i = 0; i < 6; ++i) {
    write_file(d / "tmp" / (std::to_string(i) + ".png"), face_png(i % 4, 20 + i));
    fs::rename(d / "tmp" / (std::to_string(i) + ".png"), in / (numbered("f", i, ".png")));
  }
  test::write_text(in / "bad.png", "not an image");
  run.wait_for(7);
  const WatchSummary sum = run.finish();
  const std::vector<json>& lines = run.lines();
  ASSERT_EQ(lines.size(), 7u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(lines[static_cast<size_t>(i)]["path"], (in / (numbered("f", i, ".png"))).string());  // arrival order
    EXPECT_NE(lines[static_cast<size_t>(i)]["status"], "error");
  }
  EXPECT_EQ(lines[6]["status"], "error");
  EXPECT_EQ(sum.faces, 6u);
  EXPECT_EQ(sum.errors, 1u);
  const EmbeddingStore s = load_store(store);
  ASSERT_EQ(s.size(), 6u);
  EXPECT_EQ(s.header().prep, small_model().prep);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(s.record(i).path, numbered("f", i, ".png"));
    // A known face is stored under its predicted name, an unknown one as -1.
    const json& l = lines[i];
    if (l["status"] == "known")
      EXPECT_EQ(s.header().labels.at(static_cast<size_t>(s.record(i).label)), l["label"]);
    else
      EXPECT_EQ(s.record(i).label, -1);
  }
}

TEST(WatchGraph, RefusesAStoreMadeWithOtherPreprocessing) {
  TempDir d;
  StoreHeader h;
  h.prep.image_size = 24;
  EmbeddingStore other(h);
  write_store(d / "other.store", other);
  FolderWatcher w(d.path());
  WatchOptions opt;
  opt.store = d / "other.store";
  try {
    run_watch(w, small_model(), opt, nullptr, nullptr, [](const std::string&) {});
    FAIL() << "store accepted";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("other preprocessing"), std::string::npos) << e.what();
  }
}

// Issue 11, item 9: a writer that closes the file, then reopens it to append the rest, made the
// watch print an error line (the half file) before the real answer. Now the error waits
// (error_grace) and the answer to the second close replaces it; a file that stays broken still
// gets its error line.
TEST(WatchGraph, AWriterThatClosesAndReopensGetsOnlyItsAnswer) {
  TempDir d;
  const fs::path in = d / "in";
  fs::create_directories(in);
  FolderWatcher w(in);
  WatchOptions opt;
  opt.threads = 2;
  WatchRun run(w, opt, nullptr);
  const std::vector<uint8_t> png = face_png(1, 33);
  const auto half = static_cast<std::streamsize>(png.size() / 2);
  for (int i = 0; i < 3; ++i) {
    const fs::path p = in / numbered("reopened", i, ".png");
    {
      std::ofstream f(p, std::ios::binary);
      f.write(reinterpret_cast<const char*>(png.data()), half);
    }  // closed: the watcher reports a half PNG
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + 30 * i));
    {
      std::ofstream f(p, std::ios::binary | std::ios::app);
      f.write(reinterpret_cast<const char*>(png.data()) + half, static_cast<std::streamsize>(png.size()) - half);
    }
  }
  test::write_text(in / "broken.png", "not an image");
  run.wait_for(4);
  std::this_thread::sleep_for(2 * opt.error_grace);  // nothing more may come
  const WatchSummary sum = run.finish();
  const std::vector<json>& lines = run.lines();
  std::map<std::string, std::vector<std::string>> by_file;
  for (const json& l : lines)
    by_file[fs::path(l["path"].get<std::string>()).filename().string()].push_back(l["status"]);
  // Each close is a finished file to the watcher, so a reopened file may be answered twice (when
  // the first read already saw the whole file), but never with an error line.
  for (int i = 0; i < 3; ++i) {
    const auto& st = by_file[numbered("reopened", i, ".png")];
    EXPECT_GE(st.size(), 1u);
    EXPECT_EQ(std::count(st.begin(), st.end(), "error"), 0) << json(lines).dump();
  }
  EXPECT_EQ(by_file["broken.png"], std::vector<std::string>{"error"});
  EXPECT_EQ(sum.errors, 1u);
  EXPECT_GE(sum.faces, 3u);
}

}  // namespace
}  // namespace lumaflow
