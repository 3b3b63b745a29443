// End to end: lumaflow embed / inspect / export through the real binary.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "cli_util.hpp"
#include "nodes/store/store.hpp"
#include "test_util.hpp"

using namespace lumaflow;
using test::run_cli;
using test::shell_quote;

namespace {

// (snprintf rather than string concatenation: GCC 12 warns falsely on the latter, -Wrestrict)
std::string fmt_name(const char* f, int v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

void make_folder(const std::filesystem::path& root) {
  for (int p = 0; p < 2; ++p)
    for (int i = 0; i < 3; ++i)
      test::write_bytes(root / fmt_name("person%d", p) / fmt_name("f%d.png", i),
                        test::encode(test::test_picture(60, 70, 3, static_cast<uint64_t>(10 * p + i)), ".png"));
  test::write_text(root / "person1" / "broken.jpg", "not a jpeg");
}

}  // namespace

TEST(CliStore, EmbedInspectExport) {
  test::TempDir dir;
  make_folder(dir / "in");
  const auto store = (dir / "x.store").string();
  auto r =
      run_cli("embed " + shell_quote((dir / "in").string()) + " -o " + shell_quote(store) + " --size 32 --threads 2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("broken.jpg"), std::string::npos) << r.err;  // reported with its path
  EXPECT_NE(r.err.find("embedded 6 faces"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("skipped 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("images/s"), std::string::npos) << r.err;

  r = run_cli("inspect " + shell_quote(store));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("records    6"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("person1"), std::string::npos);
  EXPECT_NE(r.out.find("integrity  ok"), std::string::npos);

  r = run_cli("inspect --json " + shell_quote(store));
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("\"image_size\": 32"), std::string::npos) << r.out;

  const auto npy = (dir / "x.npy").string(), csv = (dir / "x.csv").string();
  r = run_cli("export " + shell_quote(store) + " --npy " + shell_quote(npy) + " --labels " + shell_quote(csv));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto bytes = test::read_all(npy);
  ASSERT_GT(bytes.size(), 128u);
  EXPECT_EQ(std::string(bytes.begin() + 1, bytes.begin() + 6), "NUMPY");
  const std::string header(bytes.begin() + 10, bytes.begin() + 128);
  EXPECT_NE(header.find("'shape': (6, 1024)"), std::string::npos) << header;
  const size_t data_start = 10 + (bytes[8] | (bytes[9] << 8));
  EXPECT_EQ(data_start % 64, 0u);
  EXPECT_EQ(bytes.size() - data_start, 6u * 1024u * 4u);
  const EmbeddingStore s = load_store(store);
  float v;
  std::memcpy(&v, bytes.data() + data_start + 4 * (1024 * 2 + 5), 4);
  EXPECT_FLOAT_EQ(v, s.pixels(2)[5] / 255.0f);
  std::ifstream in(csv);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "index,path,face_index,label_index,label");
  std::getline(in, line);
  EXPECT_EQ(line, "0,person0/f0.png,0,0,person0");
}

TEST(CliStore, ErrorsAreOneLineAndNonZero) {
  test::TempDir dir;
  auto r =
      run_cli("embed " + shell_quote((dir / "missing").string()) + " -o " + shell_quote((dir / "a.store").string()));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "a.store"));

  test::write_text(dir / "bad.store", "garbage garbage garbage garbage");
  r = run_cli("inspect " + shell_quote((dir / "bad.store").string()));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("bad.store"), std::string::npos) << r.err;
}

TEST(CliStore, HelpOnEveryCommand) {
  for (const char* cmd : {"", "embed", "inspect", "export"}) {
    const auto r = run_cli(std::string(cmd) + " --help");
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd << ": " << r.out;
  }
}

TEST(CliStore, RealOrlMatchesTheSequentialEmbedding) {
  LUMAFLOW_REQUIRE_DATA(orl, "orl");
  test::TempDir dir;
  const auto store = (dir / "orl.store").string();
  auto r = run_cli("embed " + shell_quote(orl.string()) + " -o " + shell_quote(store));
  ASSERT_EQ(r.code, 0) << r.err;
  r = run_cli("inspect " + shell_quote(store));
  EXPECT_NE(r.out.find("records    400"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("labels     40"), std::string::npos) << r.out;
}
