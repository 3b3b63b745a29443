// FolderWatcher: inotify arrivals, settle rules, sub-folders, stop.
#include "watch_fixtures.hpp"

namespace lumaflow {
namespace {
using namespace lumaflow::watch_test;  // fs, json, TempDir and the fixtures

TEST(Watcher, TemporaryNames) {
  for (const char* n : {".hidden.png", ".#lock.png", "a.png.tmp", "a.PART", "a.png~", "a.swp", ""})
    EXPECT_TRUE(is_temporary_name(n)) << n;
  for (const char* n : {"a.png", "tmp.png", "part1.jpg", "a~b.png"}) EXPECT_FALSE(is_temporary_name(n)) << n;
}

TEST(Watcher, ReportsOnlyAfterCloseWriteAndIgnoresTemporaryNames) {
  TempDir d;
  FolderWatcher w(d.path());
  {
    std::ofstream f(d / "a.png", std::ios::binary);
    f << "first part";
    f.flush();
    EXPECT_TRUE(drain(w, 100).empty()) << "reported while still open for writing";
    f << "second part";
  }  // closed here
  EXPECT_EQ(drain(w, 1000, 1), std::vector<std::string>{"a.png"});
  for (const char* n :
       {".hidden.png", "b.png.tmp", "c.png.part", "d.png~", ".#e.png", "f.swp", "notes.txt", "g.pgm.crdl"})
    test::write_text(d / n, "x");
  EXPECT_TRUE(drain(w, 150).empty());
  fs::rename(d / "b.png.tmp", d / "b.png");
  EXPECT_EQ(drain(w, 1000, 1), std::vector<std::string>{"b.png"});
}

TEST(Watcher, NewSubFoldersAreWatchedAndTheirFilesPickedUp) {
  TempDir d, outside;
  FolderWatcher w(d.path(), WatcherOptions{false, 20});
  fs::create_directories(d / "sub");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  test::write_text(d / "sub" / "x.png", "x");
  // Created and filled at once, likely before the watcher adds the new folder's watch.
  fs::create_directories(d / "a" / "b");
  test::write_text(d / "a" / "b" / "y.png", "y");
  // A finished folder moved in: its files are reported at once.
  test::write_text(outside / "m" / "1.png", "1");
  test::write_text(outside / "m" / "2.png", "2");
  test::write_text(outside / "m" / ".skip.png", "2");
  fs::rename(outside / "m", d / "m");
  std::vector<std::string> got = drain(w, 1000, 4);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"a/b/y.png", "m/1.png", "m/2.png", "sub/x.png"}));
  // The moved-in folder is watched too.
  test::write_text(d / "m" / "3.png", "3");
  EXPECT_EQ(drain(w, 1000, 1), std::vector<std::string>{"m/3.png"});
}

TEST(Watcher, SlowWriterInNewFolderIsReportedOnceAtClose) {
  TempDir d;
  FolderWatcher w(d.path(), WatcherOptions{false, 20});
  fs::create_directories(d / "s");
  std::ofstream f(d / "s" / "slow.png", std::ios::binary);
  for (int i = 0; i < 4; ++i) {
    f << "chunk" << i;
    f.flush();
    EXPECT_TRUE(drain(w, 60).empty()) << "reported during write " << i;
  }
  f.close();
  EXPECT_EQ(drain(w, 1000, 1), std::vector<std::string>{"s/slow.png"});
}

TEST(Watcher, ExistingFilesInNaturalOrderFirst) {
  TempDir d;
  for (const char* n : {"img10.png", "img2.png", "sub/img1.png", "readme.txt", ".x.png"}) test::write_text(d / n, "x");
  FolderWatcher w(d.path(), WatcherOptions{true});
  EXPECT_EQ(drain(w, 500, 3), (std::vector<std::string>{"img2.png", "img10.png", "sub/img1.png"}));
  FolderWatcher quiet(d.path());
  EXPECT_TRUE(drain(quiet, 50).empty());
}

TEST(Watcher, StopWakesABlockedNextAndStopFdStops) {
  TempDir d;
  FolderWatcher w(d.path());
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    w.stop();
  });
  EXPECT_FALSE(w.next().has_value());
  t.join();
  EXPECT_TRUE(w.stopped());

  FolderWatcher w2(d.path());
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  w2.add_stop_fd(p[0]);
  ASSERT_EQ(::write(p[1], "s", 1), 1);
  EXPECT_FALSE(w2.next().has_value());
  EXPECT_TRUE(w2.stopped());
  ::close(p[0]);
  ::close(p[1]);
}

TEST(Watcher, MissingRootIsAnErrorNamingIt) {
  TempDir d;
  try {
    FolderWatcher w(d / "nope");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos);
  }
}

}  // namespace
}  // namespace lumaflow
