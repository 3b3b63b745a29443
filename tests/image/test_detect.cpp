#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/opencv/cv_image.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "nodes/core/parallel.hpp"
#include "nodes/image/detect.hpp"
#include "test_util.hpp"

using namespace lumaflow;

namespace {

std::string data_dir() {
  if (const char* env = std::getenv("LUMAFLOW_DATA")) return env;
  return LUMAFLOW_SOURCE_DIR "/../shared/data";
}

cv::Mat load_crop(const std::string& name, int i) {
  const std::string p = data_dir() + "/tvshow/" + name + "/" + name + std::to_string(i) + ".png";
  if (!std::filesystem::exists(p)) return {};
  return cv::imread(p, cv::IMREAD_GRAYSCALE);
}

// Smooth random blobs plus a gradient plus pixel noise: texture for the detector to reject.
cv::Mat clutter(cv::Size size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.f, 255.f);
  cv::Mat coarse(size.height / 16 + 1, size.width / 16 + 1, CV_32F);
  for (int y = 0; y < coarse.rows; ++y)
    for (int x = 0; x < coarse.cols; ++x) coarse.at<float>(y, x) = u(rng);
  cv::Mat blobs;
  cv::resize(coarse, blobs, size, 0, 0, cv::INTER_CUBIC);
  std::normal_distribution<float> n(0.f, 10.f);
  cv::Mat g(size, CV_8U);
  for (int y = 0; y < size.height; ++y)
    for (int x = 0; x < size.width; ++x)
      g.at<uchar>(y, x) = cv::saturate_cast<uchar>(0.5f * blobs.at<float>(y, x) + 60.f * x / size.width + n(rng));
  return g;
}

struct Pasted {
  cv::Mat bgr;
  std::vector<cv::Rect> faces;
};

// Pastes tight face crops, each padded by a third of its side with replicated borders (so the
// detector sees a whole head, not a cut-off square), at distinct face sizes.
Pasted paste_faces(const std::vector<cv::Mat>& crops, const std::vector<int>& sizes, const std::vector<cv::Point>& at) {
  Pasted p;
  cv::Mat g = clutter(cv::Size(1280, 720), 11);
  for (size_t k = 0; k < crops.size(); ++k) {
    const cv::Mat& c = crops[k];
    const int pad = c.cols / 3;
    cv::Mat padded, scaled;
    cv::copyMakeBorder(c, padded, pad, pad, pad, pad, cv::BORDER_REPLICATE);
    const double s = static_cast<double>(sizes[k]) / c.cols;
    cv::resize(padded, scaled, cv::Size(), s, s, cv::INTER_AREA);
    scaled.copyTo(g(cv::Rect(at[k], scaled.size())));
    const int off = static_cast<int>(std::lround(pad * s));
    p.faces.emplace_back(at[k].x + off, at[k].y + off, sizes[k], sizes[k]);
  }
  cv::cvtColor(g, p.bgr, cv::COLOR_GRAY2BGR);
  return p;
}

}  // namespace

TEST(Iou, HandComputed) {
  EXPECT_FLOAT_EQ(iou({0, 0, 10, 10}, {0, 0, 10, 10}), 1.f);
  EXPECT_FLOAT_EQ(iou({0, 0, 10, 10}, {5, 5, 10, 10}), 25.f / 175.f);  // 5×5 overlap
  EXPECT_FLOAT_EQ(iou({0, 0, 10, 10}, {0, 0, 5, 5}), 25.f / 100.f);    // contained
  EXPECT_FLOAT_EQ(iou({0, 0, 10, 10}, {10, 0, 10, 10}), 0.f);          // touching edges
  EXPECT_FLOAT_EQ(iou({0, 0, 10, 10}, {3, 0, 10, 4}), 28.f / (100.f + 40.f - 28.f));
  EXPECT_FLOAT_EQ(iou({0, 0, 0, 10}, {0, 0, 10, 10}), 0.f);  // empty box
}

TEST(Nms, KeepsBestAndDropsOverlaps) {
  // a–b overlap 9×9 = 81 → IoU 81/119 ≈ 0.68; d–a overlap 4×10 → 40/160 = 0.25;
  // d–b overlap 5×9 → 45/155 ≈ 0.29; c is far from everything.
  const Detection a{{0, 0, 10, 10}, 0.9f}, b{{1, 1, 10, 10}, 0.8f}, c{{20, 20, 10, 10}, 0.5f}, d{{6, 0, 10, 10}, 0.95f};
  const auto r = non_max_suppression({c, b, a, d}, 0.3f);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].box, d.box);
  EXPECT_EQ(r[1].box, a.box);
  EXPECT_EQ(r[2].box, c.box);
  // Stricter threshold: a now overlaps d too much (0.25 > 0.2); b overlaps d by 0.29 > 0.2.
  const auto s = non_max_suppression({a, b, c, d}, 0.2f);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].box, d.box);
  EXPECT_EQ(s[1].box, c.box);
  // Threshold 1 keeps everything, ordered by score.
  EXPECT_EQ(non_max_suppression({a, b, c, d}, 1.0f).size(), 4u);
  EXPECT_TRUE(non_max_suppression({}, 0.3f).empty());
}

TEST(Nms, EqualScoresOrderedByPosition) {
  const Detection p{{50, 10, 5, 5}, 1.f}, q{{10, 10, 5, 5}, 1.f}, r{{0, 30, 5, 5}, 1.f};
  const auto out = non_max_suppression({r, p, q}, 0.5f);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].box, q.box);  // y 10, x 10
  EXPECT_EQ(out[1].box, p.box);  // y 10, x 50
  EXPECT_EQ(out[2].box, r.box);  // y 30
}

TEST(FaceDetector, MissingCascadeNamesFileAndPackage) {
  DetectOptions o;
  o.kind = DetectorKind::haar;
  o.model_path = "/nonexistent/dir/haarcascade_frontalface_default.xml";
  test::expect_runtime_error_naming([&] { FaceDetector d(o); }, {o.model_path, "opencv-data"});
}

TEST(FaceDetector, CorruptCascadeNamesFileAndPackage) {
  test::TempDir dir;
  DetectOptions o;
  o.kind = DetectorKind::lbp;
  o.model_path = (dir / "bad_cascade.xml").string();
  test::write_text(o.model_path, "<?xml version=\"1.0\"?>\n<opencv_storage><nonsense>1</nonsense></opencv_storage>\n");
  test::expect_runtime_error_naming([&] { FaceDetector d(o); }, {o.model_path, "opencv-data"});
}

TEST(FaceDetector, RejectsBadOptionsAndInputs) {
  DetectOptions o;
  o.upscale = 0;
  EXPECT_THROW(FaceDetector{o}, std::invalid_argument);
  o = {};
  o.min_face = 0;
  EXPECT_THROW(FaceDetector{o}, std::invalid_argument);
  const FaceDetector d;
  EXPECT_THROW(d.detect(cv::Mat()), std::invalid_argument);
  EXPECT_THROW(d.detect(cv::Mat(10, 10, CV_32F, cv::Scalar(0))), std::invalid_argument);
}

TEST(FaceDetector, ScaleRespectsUpscaleAndMaxSide) {
  DetectOptions o;
  o.upscale = 2.0;
  o.max_side = 960;
  const FaceDetector d(o);
  EXPECT_DOUBLE_EQ(d.detection_scale({1920, 1080}), 0.5);
  EXPECT_DOUBLE_EQ(d.detection_scale({400, 300}), 2.0);
  EXPECT_DOUBLE_EQ(d.detection_scale({300, 600}), 960.0 / 600.0);
}

TEST(FaceDetector, NoFaceInClutterForEveryKind) {
  cv::Mat ramp(480, 640, CV_8U);
  for (int y = 0; y < ramp.rows; ++y)
    for (int x = 0; x < ramp.cols; ++x) ramp.at<uchar>(y, x) = static_cast<uchar>((x + y) * 255 / 1118);
  // The cascades are slower (and Haar's false-positive rate is higher), so they get a
  // smaller frame to keep the test fast.
  const std::pair<DetectorKind, cv::Size> cases[] = {
      {DetectorKind::hog, {1280, 720}}, {DetectorKind::lbp, {960, 540}}, {DetectorKind::haar, {640, 360}}};
  for (const auto& [kind, size] : cases) {
    cv::Mat bgr;
    cv::cvtColor(clutter(size, 3), bgr, cv::COLOR_GRAY2BGR);
    DetectOptions o;
    o.kind = kind;
    const FaceDetector d(o);
    std::vector<Detection> r;
    ASSERT_NO_THROW(r = d.detect(bgr));
    EXPECT_TRUE(r.empty()) << "kind " << static_cast<int>(kind) << ": " << r.size() << " boxes";
    EXPECT_TRUE(d.detect(ramp).empty()) << "kind " << static_cast<int>(kind);
  }
}

class PastedFaces : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::vector<std::pair<std::string, int>> who = {{"sheldon", 1}, {"penny", 5}, {"leonard", 2}, {"raj", 2}};
    std::vector<cv::Mat> crops;
    for (const auto& [n, i] : who) {
      cv::Mat c = load_crop(n, i);
      if (c.empty()) return;
      crops.push_back(c);
    }
    frame_ = new Pasted(paste_faces(crops, {260, 200, 160, 120}, {{60, 60}, {560, 80}, {980, 300}, {400, 480}}));
  }
  static void TearDownTestSuite() {
    delete frame_;
    frame_ = nullptr;
  }
  void SetUp() override {
    if (!frame_) GTEST_SKIP() << "tvshow crops not found under " << data_dir() << " (set LUMAFLOW_DATA)";
  }
  static Pasted* frame_;
};
Pasted* PastedFaces::frame_ = nullptr;

TEST_F(PastedFaces, DefaultDetectorFindsEveryPastedFace) {
  const FaceDetector d;  // HOG, defaults
  const auto r = d.detect(frame_->bgr);
  for (const auto& f : frame_->faces) {
    float best = 0.f;
    for (const auto& x : r) best = std::max(best, iou(f, x.box));
    EXPECT_GE(best, 0.5f) << "pasted face at " << f;
  }
  EXPECT_EQ(r.size(), frame_->faces.size()) << "false detections";
  for (size_t i = 1; i < r.size(); ++i) EXPECT_GE(r[i - 1].score, r[i].score);
}

TEST_F(PastedFaces, CascadeBoxesFollowTheHogConvention) {
  // With calibrate_boxes, Haar and LBP boxes must match the pasted face as HOG's do.
  for (auto kind : {DetectorKind::haar, DetectorKind::lbp}) {
    DetectOptions o;
    o.kind = kind;
    o.max_side = 640;  // faces stay ≥ 60 px; keeps the cascades quick
    const auto r = FaceDetector(o).detect(frame_->bgr);
    for (const auto& f : frame_->faces) {
      float best = 0.f;
      for (const auto& x : r) best = std::max(best, iou(f, x.box));
      EXPECT_GE(best, 0.5f) << "kind " << static_cast<int>(kind) << " pasted face at " << f;
    }
  }
}

TEST_F(PastedFaces, GrayInputGivesSameBoxesAsColour) {
  const FaceDetector d;
  cv::Mat g;
  cv::cvtColor(frame_->bgr, g, cv::COLOR_BGR2GRAY);
  const auto a = d.detect(frame_->bgr), b = d.detect(g);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].box, b[i].box);
}

TEST_F(PastedFaces, ConcurrentCallsMatchSequential) {
  DetectOptions o;
  o.max_side = 640;  // keep it quick
  const FaceDetector d(o);
  const auto ref = d.detect(frame_->bgr);
  std::vector<Detection> r1, r2;
  std::thread t1([&] { r1 = d.detect(frame_->bgr); });
  std::thread t2([&] { r2 = d.detect(frame_->bgr); });
  t1.join();
  t2.join();
  for (const auto* r : {&r1, &r2}) {
    ASSERT_EQ(r->size(), ref.size());
    for (size_t i = 0; i < ref.size(); ++i) {
      EXPECT_EQ((*r)[i].box, ref[i].box);
      EXPECT_FLOAT_EQ((*r)[i].score, ref[i].score);
    }
  }
}

// HOG runs dlib's detector in pieces (pyramid levels, level × filter bank). Without resampling
// (upscale 1), size filter or extra suppression, detect() must return dlib's own detections —
// the same boxes and the same float scores — however the pieces are run: here, in order, last
// to first, and on two threads.
TEST_F(PastedFaces, HogPiecesGiveDlibsOwnDetections) {
  cv::Mat gray, small;
  cv::cvtColor(frame_->bgr, gray, cv::COLOR_BGR2GRAY);
  cv::resize(gray, small, cv::Size(), 0.5, 0.5, cv::INTER_AREA);  // 640×360, faces 60–130 px: quick
  dlib::frontal_face_detector dlib_detector = dlib::get_frontal_face_detector();
  std::vector<dlib::rect_detection> raw;
  dlib_detector(dlib::cv_image<unsigned char>(small), raw, 0.0);
  std::vector<Detection> want;
  for (const auto& r : raw)
    want.push_back({cv::Rect(static_cast<int>(r.rect.left()), static_cast<int>(r.rect.top()),
                             static_cast<int>(r.rect.width()), static_cast<int>(r.rect.height())) &
                        cv::Rect(0, 0, small.cols, small.rows),
                    static_cast<float>(r.detection_confidence)});
  want = non_max_suppression(want, 1.0f);  // only orders them as detect() does
  ASSERT_GE(want.size(), 2u) << "too few detections for the comparison to mean anything";

  DetectOptions o;
  o.upscale = 1.0;
  o.min_face = 1;
  o.nms_iou = 1.0f;
  const FaceDetector d(o);
  ASSERT_EQ(d.detection_scale(small.size()), 1.0);
  const ForEach backwards = [](std::ptrdiff_t n, const std::function<void(std::ptrdiff_t)>& fn) {
    for (std::ptrdiff_t i = n; i-- > 0;) fn(i);
  };
  const ForEach two_threads = [](std::ptrdiff_t n, const std::function<void(std::ptrdiff_t)>& fn) {
    parallel_for(n, 2, fn);
  };
  for (const ForEach& each : {ForEach{}, backwards, two_threads}) {
    const auto got = d.detect(small, each);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i].box, want[i].box) << i;
      EXPECT_EQ(got[i].score, want[i].score) << i;
    }
  }
}

TEST(DetectInCrop, FindsTheFaceFillingATightCrop) {
  const cv::Mat c = load_crop("sheldon", 1);
  if (c.empty()) GTEST_SKIP() << "tvshow crops not found under " << data_dir() << " (set LUMAFLOW_DATA)";
  const FaceDetector d;
  const auto box = detect_in_crop(d, c);
  ASSERT_TRUE(box.has_value());
  // The face fills the 150×150 crop: its box must cover most of it and lie inside it.
  EXPECT_GE(box->box.width, 90);
  EXPECT_EQ(box->box & cv::Rect(0, 0, c.cols, c.rows), box->box);
  EXPECT_FALSE(detect_in_crop(d, clutter(cv::Size(150, 150), 5)).has_value());
}
