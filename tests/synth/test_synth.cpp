#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "nodes/synth/synth.hpp"

using namespace lumaflow;
namespace fs = std::filesystem;

namespace {

// A fresh, empty directory under the system temp dir, removed at scope exit.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag) {
    path = fs::temp_directory_path() / ("lumaflow_synth_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string read_bytes(const fs::path& p) {
  std::ifstream is(p, std::ios::binary);
  std::ostringstream ss;
  ss << is.rdbuf();
  return ss.str();
}

// Relative paths → bytes of every file under root.
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) out[fs::relative(e.path(), root).string()] = read_bytes(e.path());
  return out;
}

bool same_pixels(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

}  // namespace

TEST(Synth, SameSeedSamePixelsDifferentSeedDifferent) {
  const cv::Mat a = draw_face(make_identity(42, 1), make_variation(42, 1, 2), 96);
  const cv::Mat b = draw_face(make_identity(42, 1), make_variation(42, 1, 2), 96);
  ASSERT_EQ(a.type(), CV_8UC3);
  ASSERT_EQ(a.rows, 96);
  ASSERT_EQ(a.cols, 96);
  EXPECT_TRUE(same_pixels(a, b));
  const cv::Mat c = draw_face(make_identity(43, 1), make_variation(43, 1, 2), 96);
  EXPECT_GT(cv::norm(a, c, cv::NORM_L1) / a.total(), 5.0);
  const cv::Mat d = draw_face(make_identity(42, 1), make_variation(42, 1, 3), 96);  // another photo
  EXPECT_FALSE(same_pixels(a, d));

  std::vector<cv::Rect> b1, b2, b3;
  const cv::Mat s1 = draw_scene(9, 320, 180, 3, &b1), s2 = draw_scene(9, 320, 180, 3, &b2);
  EXPECT_TRUE(same_pixels(s1, s2));
  EXPECT_EQ(b1, b2);
  const cv::Mat s3 = draw_scene(10, 320, 180, 3, &b3);
  EXPECT_FALSE(same_pixels(s1, s3));
}

TEST(Synth, WritesIdentitiesTimesPerReadableFiles) {
  TempDir dir("write");
  const SynthOptions opt{.identities = 3, .per = 4, .size = 48};
  const auto sum = write_synthetic_set(dir.path / "set", opt, 2);
  EXPECT_EQ(sum.files, 12);
  EXPECT_EQ(sum.labels, (std::vector<std::string>{"person_00", "person_01", "person_02"}));
  int jpg = 0, png = 0, files = 0;
  for (int p = 0; p < 3; ++p)
    for (int m = 0; m < 4; ++m) {
      const std::string ext = m % 2 == 0 ? ".jpg" : ".png";
      const fs::path f = dir.path / "set" / sum.labels[static_cast<size_t>(p)] / ("img_00" + std::to_string(m) + ext);
      ASSERT_TRUE(fs::exists(f)) << f;
      const cv::Mat img = cv::imread(f.string(), cv::IMREAD_UNCHANGED);
      ASSERT_FALSE(img.empty()) << f;
      EXPECT_EQ(img.rows, 48);
      EXPECT_EQ(img.cols, 48);
      EXPECT_EQ(img.channels(), 3);
      (ext == ".jpg" ? jpg : png)++;
    }
  for (const auto& e : fs::recursive_directory_iterator(dir.path / "set")) files += e.is_regular_file();
  EXPECT_EQ(files, 12);
  EXPECT_EQ(jpg, 6);
  EXPECT_EQ(png, 6);
  // The PNG is lossless: it must equal draw_face exactly.
  const cv::Mat png_img = cv::imread((dir.path / "set/person_01/img_003.png").string(), cv::IMREAD_COLOR);
  EXPECT_TRUE(same_pixels(png_img, draw_face(make_identity(42, 1), make_variation(42, 1, 3), 48)));

  // Overwriting in place works and gives the same bytes.
  const auto before = snapshot(dir.path / "set");
  write_synthetic_set(dir.path / "set", opt, 1);
  EXPECT_EQ(snapshot(dir.path / "set"), before);
}

TEST(Synth, WrittenBytesDoNotDependOnThreadCount) {
  TempDir dir("threads");
  const SynthOptions opt{.identities = 3, .per = 3, .size = 40};
  write_synthetic_set(dir.path / "one", opt, 1);
  write_synthetic_set(dir.path / "two", opt, 2);
  write_synthetic_set(dir.path / "three", opt, 3);
  const auto one = snapshot(dir.path / "one");
  EXPECT_EQ(one.size(), 9u);
  EXPECT_EQ(snapshot(dir.path / "two"), one);
  EXPECT_EQ(snapshot(dir.path / "three"), one);

  SynthOptions sc = opt;
  sc.scenes = true;
  sc.size = 128;
  sc.per = 2;
  write_synthetic_set(dir.path / "s1", sc, 1);
  write_synthetic_set(dir.path / "s2", sc, 2);
  const auto s1 = snapshot(dir.path / "s1");
  EXPECT_EQ(s1.size(), 6u);
  EXPECT_EQ(snapshot(dir.path / "s2"), s1);
  const cv::Mat frame = cv::imread((dir.path / "s1/person_00/img_001.png").string());
  EXPECT_EQ(frame.cols, 128);
  EXPECT_EQ(frame.rows, 72);
}

TEST(Synth, SameIdentityCloserThanDifferentIdentityIn128Gray) {
  const int ids = 8, per = 8;
  std::vector<cv::Mat> vecs;  // 1×16384 float rows in [0, 1]
  for (int i = 0; i < ids; ++i) {
    const auto id = make_identity(42, i);
    for (int j = 0; j < per; ++j) {
      cv::Mat gray, f;
      cv::cvtColor(draw_face(id, make_variation(42, i, j), 128), gray, cv::COLOR_BGR2GRAY);
      gray.convertTo(f, CV_32F, 1.0 / 255);
      vecs.push_back(f.reshape(1, 1));
    }
  }
  double within = 0, between = 0, min_within = 1e9;
  int nw = 0, nb = 0;
  for (int a = 0; a < ids * per; ++a)
    for (int b = a + 1; b < ids * per; ++b) {
      const double d = cv::norm(vecs[static_cast<size_t>(a)], vecs[static_cast<size_t>(b)], cv::NORM_L2);
      if (a / per == b / per) {
        within += d;
        ++nw;
        min_within = std::min(min_within, d);
      } else {
        between += d;
        ++nb;
      }
    }
  within /= nw;
  between /= nb;
  RecordProperty("within", std::to_string(within));
  RecordProperty("between", std::to_string(between));
  EXPECT_LT(within, between) << "within " << within << " between " << between;
  // Not trivially identical: photos of one person still differ clearly.
  EXPECT_GT(within, 0.4 * between) << "within " << within << " between " << between;
  EXPECT_GT(min_within, 3.0);  // RMS pixel difference above ~2.3 %
}

TEST(Synth, VariationRangesAndAmount) {
  for (int img = 0; img < 200; ++img) {
    const auto v = make_variation(3, img % 7, img);
    EXPECT_LE(std::abs(v.shift_x), 0.08);
    EXPECT_LE(std::abs(v.shift_y), 0.08);
    EXPECT_LE(std::abs(v.rotation_deg), 12.0);
    EXPECT_LE(std::abs(v.scale - 1), 0.1 + 1e-12);
    const auto half = make_variation(3, img % 7, img, 0.5);
    EXPECT_DOUBLE_EQ(half.shift_x, 0.5 * v.shift_x);
    EXPECT_DOUBLE_EQ(half.rotation_deg, 0.5 * v.rotation_deg);
    EXPECT_NEAR(half.scale - 1, 0.5 * (v.scale - 1), 1e-15);
    const auto none = make_variation(3, img % 7, img, 0.0);
    EXPECT_EQ(none.shift_x, 0.0);
    EXPECT_EQ(none.rotation_deg, 0.0);
    EXPECT_EQ(none.scale, 1.0);
    EXPECT_EQ(none.light_strength, 0.0);
    EXPECT_EQ(none.eye_open, 1.0);
  }
  EXPECT_THROW(make_variation(3, 0, 0, 1.5), std::invalid_argument);
}

TEST(Synth, SceneBoxesInsideFrameAndDisjoint) {
  for (uint64_t seed : {1u, 2u, 3u, 4u}) {
    std::vector<cv::Rect> boxes;
    const int faces = 2 + static_cast<int>(seed);
    const cv::Mat frame = draw_scene(seed, 480, 270, faces, &boxes);
    ASSERT_EQ(frame.type(), CV_8UC3);
    EXPECT_EQ(frame.cols, 480);
    EXPECT_EQ(frame.rows, 270);
    ASSERT_EQ(static_cast<int>(boxes.size()), faces);
    for (size_t i = 0; i < boxes.size(); ++i) {
      const cv::Rect& b = boxes[i];
      EXPECT_GE(b.x, 0);
      EXPECT_GE(b.y, 0);
      EXPECT_LE(b.x + b.width, 480);
      EXPECT_LE(b.y + b.height, 270);
      EXPECT_GE(b.width, 16);
      for (size_t j = i + 1; j < boxes.size(); ++j) EXPECT_EQ((b & boxes[j]).area(), 0) << i << " vs " << j;
    }
  }
  EXPECT_THROW(draw_scene(1, 64, 64, 40), std::invalid_argument);
}

TEST(Synth, ReportsBadOptionsAndWriteFailuresWithPath) {
  TempDir dir("fail");
  SynthOptions opt;
  opt.identities = 0;
  EXPECT_THROW(write_synthetic_set(dir.path, opt), std::invalid_argument);
  opt = {};
  opt.jpeg_quality = 101;
  EXPECT_THROW(write_synthetic_set(dir.path, opt), std::invalid_argument);
  EXPECT_THROW(draw_face(make_identity(1, 0), make_variation(1, 0, 0), 8), std::invalid_argument);

  const fs::path blocker = dir.path / "not_a_dir";
  std::ofstream(blocker) << "x";
  opt = {};
  opt.identities = 1;
  opt.per = 1;
  opt.size = 32;
  try {
    write_synthetic_set(blocker, opt);
    ADD_FAILURE() << "writing under a regular file succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("not_a_dir"), std::string::npos) << e.what();
  }
}
