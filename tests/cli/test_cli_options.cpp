// Every option is validated: a bad value, a flag that contradicts the input, an unknown command
// or an output path that is a folder gets one line on stderr naming it, and a non-zero exit.
#include <gtest/gtest.h>

#include <regex>

#include "cli_util.hpp"
#include "test_util.hpp"

using namespace lumaflow;
using test::run_cli;
using test::shell_quote;

namespace {

int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

// A small labelled folder: `people` × `per` PNG faces.
void make_faces(const std::filesystem::path& root, int people, int per) {
  for (int p = 0; p < people; ++p)
    for (int i = 0; i < per; ++i)
      test::write_bytes(root / ("p" + std::to_string(p)) / ("f" + std::to_string(i) + ".png"),
                        test::encode(test::test_picture(40, 40, 3, static_cast<uint64_t>(100 * p + i)), ".png"));
}

void expect_usage_error(const std::string& args, const std::string& must_name) {
  const auto r = run_cli(args);
  EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
  EXPECT_EQ(lines(r.err), 1) << args << "\n" << r.err;
  EXPECT_NE(r.err.find(must_name), std::string::npos) << args << "\n" << r.err;
  EXPECT_FALSE(std::regex_search(r.err, std::regex("[0-9]{20}"))) << "a 20-digit number: " << r.err;
}

}  // namespace

TEST(CliOptions, OutOfRangeValuesAreOneLineUsageErrors) {
  test::TempDir dir;
  make_faces(dir / "faces", 2, 2);
  const std::string faces = shell_quote((dir / "faces").string());
  const std::string store = shell_quote((dir / "x.store").string());
  expect_usage_error("embed " + faces + " -o " + store + " --max-megapixels 0", "--max-megapixels");
  expect_usage_error("embed " + faces + " -o " + store + " --max-megapixels -1", "--max-megapixels");
  expect_usage_error("embed " + faces + " -o " + store + " --threads -1", "--threads");
  expect_usage_error("fit " + faces + " -o m.model --open-set-frr 0.9", "--open-set-frr");
  expect_usage_error("fit " + faces + " -o m.model --min-faces -2", "--min-faces");
  expect_usage_error("fit " + faces + " -o m.model --knn 0", "--knn");
  expect_usage_error("analyze " + faces + " --min-pts 0", "--min-pts");
  expect_usage_error("analyze " + faces + " --perplexity -3", "--perplexity");
  expect_usage_error("classify m.model " + faces + " --threads 99999", "--threads");
  EXPECT_FALSE(std::filesystem::exists(dir / "x.store"));
}

TEST(CliOptions, UnknownCommandIsNamed) {
  const auto r = run_cli("bogus");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("unknown command 'bogus'"), std::string::npos) << r.err;
  EXPECT_EQ(run_cli("--version").code, 0);
}

TEST(CliOptions, FlagsThatContradictTheStoreAreRefused) {
  test::TempDir dir;
  make_faces(dir / "faces", 2, 3);
  const std::string store = shell_quote((dir / "x.store").string());
  auto r = run_cli("embed " + shell_quote((dir / "faces").string()) + " -o " + store + " --size 32");
  ASSERT_EQ(r.code, 0) << r.err;
  r = run_cli("fit " + store + " -o " + shell_quote((dir / "m.model").string()) + " --size 128");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("--size 32"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--size 128"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("x.store"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "m.model"));
  r = run_cli("analyze " + store + " -o " + shell_quote((dir / "a").string()) + " --aspect crop");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--aspect"), std::string::npos) << r.err;
  // The store's own values, or no flag at all, are fine.
  r = run_cli("analyze " + store + " -o " + shell_quote((dir / "a").string()) +
              " --size 32 --aspect stretch --no-tsne --no-umap --no-heldout --no-charts");
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST(CliOptions, OutputThatIsAFolderIsRefusedClearly) {
  test::TempDir dir;
  make_faces(dir / "faces", 2, 2);
  std::filesystem::create_directories(dir / "existing");
  const auto r =
      run_cli("embed " + shell_quote((dir / "faces").string()) + " -o " + shell_quote((dir / "existing").string()));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("is a folder"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("Success"), std::string::npos) << r.err;
  EXPECT_TRUE(std::filesystem::is_empty(dir / "existing"));
}

TEST(CliOptions, UnsupportedImageTypesAreCountedAndNamed) {
  test::TempDir dir;
  make_faces(dir / "faces", 2, 2);
  test::write_text(dir / "faces" / "p0" / "anim.gif", "GIF89a");
  test::write_text(dir / "faces" / "p1" / "anim.GIF", "GIF89a");
  test::write_text(dir / "faces" / "notes.txt", "hello");
  test::write_text(dir / "faces" / ".hidden.gif", "GIF89a");  // hidden: not counted
  const auto r =
      run_cli("embed " + shell_quote((dir / "faces").string()) + " -o " + shell_quote((dir / "x.store").string()));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("3 files of unsupported type: .gif 2, .txt 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("anim.gif: unsupported file type"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(".hidden"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("4 records"), std::string::npos) << r.out;
}

// libpng and libjpeg print their own unattributed lines for damaged files ("libpng error: IDAT:
// invalid distance too far back", "Corrupt JPEG data: 12 extraneous bytes before marker 0xd9");
// lumaflow drops them: its own line names each file and says what was wrong.
TEST(CliOptions, LibraryChatterIsReplacedByLinesNamingTheFile) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "sanitizer build: the filter is off so that a crash report always reaches stderr";
#endif
  test::TempDir dir;
  make_faces(dir / "faces", 2, 2);
  auto png = test::encode(test::test_picture(80, 80, 3, 7), ".png");
  png.resize(png.size() * 2 / 3);  // libpng: "PNG input buffer is incomplete" / "Read Error"
  test::write_bytes(dir / "faces" / "p0" / "cut.png", png);
  auto jpg = test::encode(test::test_picture(80, 80, 3, 8), ".jpg");
  const std::string tail = "garbage after the end";
  jpg.insert(jpg.end() - 2, tail.begin(), tail.end());  // libjpeg: "Corrupt JPEG data: ... extraneous bytes"
  test::write_bytes(dir / "faces" / "p1" / "extra.jpg", jpg);
  const std::string args =
      "embed " + shell_quote((dir / "faces").string()) + " -o " + shell_quote((dir / "x.store").string());
  const auto raw = run_cli(args, "LUMAFLOW_RAW_STDERR=1");
  ASSERT_EQ(raw.code, 0) << raw.err;
  EXPECT_NE(raw.err.find("libpng"), std::string::npos) << "the libraries no longer chatter:\n" << raw.err;
  const auto r = run_cli(args);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("libpng"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("Corrupt JPEG"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cut.png: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("embedded "), std::string::npos) << r.err;  // lumaflow's own lines all pass
}
