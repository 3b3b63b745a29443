// nodes/core/atomic_file: the target is replaced whole or not at all, and no temporary file
// outlives a failure.
#include "nodes/core/atomic_file.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace lumaflow {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_plain(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

// Every entry of a folder (the target and any temporary file beside it).
std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(AtomicFile, CommitReplacesTheFileAndLeavesNoTemporary) {
  test::TempDir dir;
  const fs::path target = dir / "out.txt";
  write_plain(target, "old");
  AtomicFile f(target);
  f.write("new content");
  EXPECT_TRUE(fs::exists(f.temp_path()));
  EXPECT_EQ(read(target), "old");  // nothing visible before commit
  f.commit();
  EXPECT_EQ(read(target), "new content");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"out.txt"});
}

TEST(AtomicFile, RenameIsAtomicAReaderOfTheOldFileKeepsItWhole) {
  // Replacement is by rename, never by truncating in place: a reader that opened the old file
  // before the commit still reads all of the old bytes after it.
  test::TempDir dir;
  const fs::path target = dir / "data.bin";
  const std::string old_bytes(100000, 'a'), new_bytes(50000, 'b');
  write_plain(target, old_bytes);
  std::ifstream reader(target, std::ios::binary);
  ASSERT_TRUE(reader);
  write_file_atomic(target, new_bytes);
  std::stringstream seen;
  seen << reader.rdbuf();
  EXPECT_EQ(seen.str(), old_bytes);
  EXPECT_EQ(read(target), new_bytes);
}

TEST(AtomicFile, NotCommittedLeavesTheExistingFileUntouchedAndNoTemporary) {
  test::TempDir dir;
  const fs::path target = dir / "keep.txt";
  write_plain(target, "precious");
  try {
    AtomicFile f(target);
    f.write("half of a new vers");
    throw std::runtime_error("the writer failed half-way");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(read(target), "precious");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"keep.txt"});
}

TEST(AtomicFile, WriteFailureThrowsWithThePathAndRemovesTheTemporary) {
  test::TempDir dir;
  const fs::path target = dir / "big.bin";
  write_plain(target, "old");
  // A file-size limit makes write() fail with EFBIG (SIGXFSZ ignored), a real I/O error.
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = saved;
  small.rlim_cur = 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string message;
  try {
    write_file_atomic(target, std::string(4096, 'x'));
  } catch (const FileError& e) {
    message = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(message.find(target.string()), std::string::npos) << message;
  EXPECT_EQ(read(target), "old");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"big.bin"});
}

TEST(AtomicFile, FailedRenameRemovesTheTemporaryAndLeavesTheTargetAlone) {
  test::TempDir dir;
  const fs::path target = dir / "slot";
  AtomicFile f(target);
  f.write("content");
  // Something else takes the name meanwhile: a non-empty folder cannot be renamed over.
  fs::create_directories(target / "inside");
  EXPECT_THROW(f.commit(), FileError);
  EXPECT_TRUE(fs::is_directory(target / "inside"));
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"slot"});
}

TEST(AtomicFile, RefusesADirectoryTargetBeforeWriting) {
  test::TempDir dir;
  fs::create_directories(dir / "folder");
  EXPECT_THROW(AtomicFile f(dir / "folder"), FileError);
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"folder"});
}

TEST(AtomicFile, UnwritableFolderThrowsNamingTheTarget) {
  test::TempDir dir;
  const fs::path target = dir / "missing-folder" / "x.txt";
  try {
    AtomicFile f(target);
    FAIL() << "no error for a missing folder";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find(target.string()), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lumaflow
