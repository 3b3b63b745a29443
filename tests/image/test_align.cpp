#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "nodes/image/align.hpp"
#include "nodes/image/detect.hpp"
#include "nodes/image/equalize.hpp"
#include "test_util.hpp"

using namespace lumaflow;

namespace {

std::string data_dir() {
  if (const char* env = std::getenv("LUMAFLOW_DATA")) return env;
  return LUMAFLOW_SOURCE_DIR "/../shared/data";
}

cv::Mat load_gray(const std::string& rel) {
  const std::string p = data_dir() + "/" + rel;
  if (!std::filesystem::exists(p)) return {};
  return cv::imread(p, cv::IMREAD_GRAYSCALE);
}

cv::Point2f apply(const cv::Mat& T, const cv::Point2f& p) {
  return {static_cast<float>(T.at<double>(0, 0) * p.x + T.at<double>(0, 1) * p.y + T.at<double>(0, 2)),
          static_cast<float>(T.at<double>(1, 0) * p.x + T.at<double>(1, 1) * p.y + T.at<double>(1, 2))};
}

float dist(const cv::Point2f& a, const cv::Point2f& b) { return std::hypot(a.x - b.x, a.y - b.y); }

}  // namespace

// --- closed-form pieces -------------------------------------------------------------------

TEST(Similarity, RecoversAnExactTransform) {
  const double s = 1.7, th = 0.4, tx = 5, ty = -3;
  const double a = s * std::cos(th), b = s * std::sin(th);
  std::vector<cv::Point2f> from = {{0, 0}, {10, 2}, {3, 9}, {-4, 6}}, to;
  for (const auto& p : from)
    to.emplace_back(static_cast<float>(a * p.x - b * p.y + tx), static_cast<float>(b * p.x + a * p.y + ty));
  const cv::Mat T = estimate_similarity(from, to);
  EXPECT_NEAR(T.at<double>(0, 0), a, 1e-5);
  EXPECT_NEAR(T.at<double>(0, 1), -b, 1e-5);
  EXPECT_NEAR(T.at<double>(1, 0), b, 1e-5);
  EXPECT_NEAR(T.at<double>(1, 1), a, 1e-5);
  EXPECT_NEAR(T.at<double>(0, 2), tx, 1e-4);
  EXPECT_NEAR(T.at<double>(1, 2), ty, 1e-4);
}

TEST(Similarity, MatchesGenericLeastSquares) {
  // Independent reference: solve the 2n×4 linear system [x −y 1 0; y x 0 1]·(a b tx ty) = q by SVD.
  const std::vector<cv::Point2f> from = {{30, 40}, {70, 42}, {51, 85}}, to = {{38, 48}, {90, 49}, {63, 101}};
  cv::Mat A(6, 4, CV_64F), q(6, 1, CV_64F), x;
  for (int i = 0; i < 3; ++i) {
    const double px = from[static_cast<size_t>(i)].x, py = from[static_cast<size_t>(i)].y;
    const double r0[] = {px, -py, 1, 0}, r1[] = {py, px, 0, 1};
    for (int j = 0; j < 4; ++j) A.at<double>(2 * i, j) = r0[j], A.at<double>(2 * i + 1, j) = r1[j];
    q.at<double>(2 * i) = to[static_cast<size_t>(i)].x;
    q.at<double>(2 * i + 1) = to[static_cast<size_t>(i)].y;
  }
  cv::solve(A, q, x, cv::DECOMP_SVD);
  const cv::Mat T = estimate_similarity(from, to);
  EXPECT_NEAR(T.at<double>(0, 0), x.at<double>(0), 1e-9);
  EXPECT_NEAR(T.at<double>(1, 0), x.at<double>(1), 1e-9);
  EXPECT_NEAR(T.at<double>(0, 2), x.at<double>(2), 1e-6);
  EXPECT_NEAR(T.at<double>(1, 2), x.at<double>(3), 1e-6);
  // Weighted: scale each pair of rows by √w and solve again.
  const std::vector<double> w = {1.0, 1.0, 0.25};
  cv::Mat Aw = A.clone(), qw = q.clone(), xw;
  for (int r = 0; r < 6; ++r) {
    Aw.row(r) *= std::sqrt(w[static_cast<size_t>(r / 2)]);
    qw.row(r) *= std::sqrt(w[static_cast<size_t>(r / 2)]);
  }
  cv::solve(Aw, qw, xw, cv::DECOMP_SVD);
  const cv::Mat Tw = estimate_similarity(from, to, w);
  EXPECT_NEAR(Tw.at<double>(0, 0), xw.at<double>(0), 1e-9);
  EXPECT_NEAR(Tw.at<double>(1, 0), xw.at<double>(1), 1e-9);
  EXPECT_NEAR(Tw.at<double>(0, 2), xw.at<double>(2), 1e-6);
  EXPECT_NEAR(Tw.at<double>(1, 2), xw.at<double>(3), 1e-6);
  EXPECT_GT(std::abs(Tw.at<double>(0, 2) - T.at<double>(0, 2)), 1e-3);  // the weights matter
  EXPECT_THROW(estimate_similarity({{1, 1}, {1, 1}}, {{0, 0}, {2, 2}}), std::invalid_argument);
  EXPECT_THROW(estimate_similarity(from, to, {1.0, 1.0}), std::invalid_argument);
  EXPECT_THROW(estimate_similarity({{1, 1}}, {{0, 0}}), std::invalid_argument);
}

TEST(Canonical, PositionsFromOptions) {
  AlignOptions o;
  o.size = 100;
  o.eye_y = 0.4f;
  o.eye_dx = 0.25f;
  o.mouth_y = 0.8f;
  // Fraction f of the crop is at f·N − 0.5 in pixel-centre coordinates.
  EXPECT_NEAR(FaceAligner::canonical_left_eye(o).x, 24.5f, 1e-4);
  EXPECT_NEAR(FaceAligner::canonical_right_eye(o).x, 74.5f, 1e-4);
  EXPECT_NEAR(FaceAligner::canonical_left_eye(o).y, 39.5f, 1e-4);
  EXPECT_NEAR(FaceAligner::canonical_mouth(o).x, 49.5f, 1e-4);
  EXPECT_NEAR(FaceAligner::canonical_mouth(o).y, 79.5f, 1e-4);
}

TEST(Plausible, AcceptsUprightFaceRejectsOddGeometry) {
  const cv::Rect box(0, 0, 100, 100);
  EXPECT_TRUE(FaceAligner::plausible({30, 40}, {70, 40}, {50, 82}, box));
  EXPECT_TRUE(FaceAligner::plausible({30, 35}, {70, 50}, {45, 85}, box));      // tilted ~20°
  EXPECT_FALSE(FaceAligner::plausible({70, 40}, {30, 40}, {50, 82}, box));     // eyes swapped
  EXPECT_FALSE(FaceAligner::plausible({50, 20}, {52, 60}, {20, 40}, box));     // eye line vertical
  EXPECT_FALSE(FaceAligner::plausible({30, 60}, {70, 60}, {50, 20}, box));     // mouth above eyes
  EXPECT_FALSE(FaceAligner::plausible({45, 40}, {50, 40}, {48, 46}, box));     // eyes 5 px apart
  EXPECT_FALSE(FaceAligner::plausible({30, 40}, {70, 40}, {95, 70}, box));     // mouth off to the side
  EXPECT_FALSE(FaceAligner::plausible({230, 40}, {270, 40}, {250, 82}, box));  // outside the box
}

TEST(FaceAligner, MissingModelNamesPathAndPackage) {
  AlignOptions o;
  o.landmarks_path = "/nonexistent/shape_predictor_68_face_landmarks.dat";
  test::expect_runtime_error_naming([&] { FaceAligner a(o); }, {o.landmarks_path, "libdlib-data"});
}

TEST(FaceAligner, CorruptModelNamesPathAndPackage) {
  test::TempDir dir;
  AlignOptions o;
  o.landmarks_path = (dir / "bad_landmarks.dat").string();
  test::write_text(o.landmarks_path, "this is not a dlib shape predictor");
  test::expect_runtime_error_naming([&] { FaceAligner a(o); }, {o.landmarks_path, "libdlib-data"});
}

// --- with the real model (loaded once for the whole program) -----------------------------

class Aligned : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    aligner_ = std::make_unique<FaceAligner>();
    detector_ = std::make_unique<FaceDetector>();
  }
  static void TearDownTestSuite() {
    aligner_.reset();
    detector_.reset();
  }
  static std::unique_ptr<FaceAligner> aligner_;
  static std::unique_ptr<FaceDetector> detector_;
};
std::unique_ptr<FaceAligner> Aligned::aligner_;
std::unique_ptr<FaceDetector> Aligned::detector_;

TEST_F(Aligned, EyesAndMouthLandOnCanonicalPositions) {
  const std::vector<std::string> faces = {"sheldon/sheldon1.png", "amy/amy2.png", "howard/howard4.png", "orl/s1/1.pgm",
                                          "orl/s7/3.pgm"};
  const AlignOptions& o = aligner_->options();
  const cv::Point2f cl = FaceAligner::canonical_left_eye(o), cr = FaceAligner::canonical_right_eye(o),
                    cm = FaceAligner::canonical_mouth(o);
  int used = 0;
  for (const auto& rel : faces) {
    const std::string path = (rel.rfind("orl/", 0) == 0 ? rel : "tvshow/" + rel);
    const cv::Mat img = load_gray(path);
    if (img.empty()) continue;
    ++used;
    const auto box = detect_in_crop(*detector_, img);
    ASSERT_TRUE(box.has_value()) << path;
    const AlignedFace f = aligner_->align(img, box->box);
    ASSERT_TRUE(f.landmarks_found) << path;
    ASSERT_EQ(f.gray.type(), CV_8UC1);
    ASSERT_EQ(f.gray.size(), cv::Size(o.size, o.size));
    ASSERT_EQ(f.landmarks.size(), 68u);
    // The fit is weighted least squares over three points (mouth weight 0.25), so each lands
    // near, not on, its target: eyes within 3 px at N = 128, the mouth within 8 px.
    EXPECT_LT(dist(apply(f.transform, f.left_eye), cl), 3.f) << path;
    EXPECT_LT(dist(apply(f.transform, f.right_eye), cr), 3.f) << path;
    EXPECT_LT(dist(apply(f.transform, f.mouth), cm), 8.f) << path;
    // Independent check on the pixels: find the face again in the aligned crop and re-run the
    // landmark model there; its eyes must sit near the canonical positions too.
    const auto box2 = detect_in_crop(*detector_, f.gray);
    ASSERT_TRUE(box2.has_value()) << path;
    const auto pts = aligner_->landmarks(f.gray, box2->box);
    cv::Point2f e1(0, 0), e2(0, 0);
    for (int i = 36; i < 42; ++i) e1 += pts[static_cast<size_t>(i)] / 6.f;
    for (int i = 42; i < 48; ++i) e2 += pts[static_cast<size_t>(i)] / 6.f;
    EXPECT_LT(dist(e1, cl), 5.f) << path << " re-detected left eye " << e1 << " vs " << cl;
    EXPECT_LT(dist(e2, cr), 5.f) << path << " re-detected right eye " << e2 << " vs " << cr;
  }
  if (used == 0) GTEST_SKIP() << "face data not found under " << data_dir() << " (set LUMAFLOW_DATA)";
}

TEST_F(Aligned, ColourInputMatchesGray) {
  const cv::Mat g = load_gray("tvshow/penny/penny5.png");
  if (g.empty()) GTEST_SKIP() << "tvshow crops not found under " << data_dir() << " (set LUMAFLOW_DATA)";
  cv::Mat bgr;
  cv::cvtColor(g, bgr, cv::COLOR_GRAY2BGR);
  const cv::Rect box = FaceAligner::whole_image_box(g.size(), 0.06);
  const AlignedFace a = aligner_->align(g, box), b = aligner_->align(bgr, box);
  EXPECT_EQ(a.landmarks_found, b.landmarks_found);
  EXPECT_LE(cv::norm(a.gray, b.gray, cv::NORM_INF), 1.0);
}

TEST_F(Aligned, CropBoxIsTheSquareAroundTheBox) {
  cv::Mat img(200, 300, CV_8U);
  for (int y = 0; y < img.rows; ++y) img.row(y).setTo(cv::Scalar(y));  // value = row
  const cv::Rect box(100, 50, 80, 100);                                // not square: side = 100, centred on (140, 100)
  const AlignedFace f = aligner_->crop_box(img, box);
  const int n = aligner_->options().size;
  EXPECT_FALSE(f.landmarks_found);
  ASSERT_EQ(f.gray.size(), cv::Size(n, n));
  const double k = n / 100.0;
  EXPECT_NEAR(f.transform.at<double>(0, 0), k, 1e-12);
  EXPECT_NEAR(f.transform.at<double>(0, 1), 0, 1e-12);
  // Continuous square [89.5, 189.5] × [49.5, 149.5] → [−0.5, N − 0.5]².
  const cv::Point2f tl = apply(f.transform, {89.5f, 49.5f});
  const cv::Point2f br = apply(f.transform, {189.5f, 149.5f});
  EXPECT_NEAR(tl.x, -0.5f, 1e-4);
  EXPECT_NEAR(tl.y, -0.5f, 1e-4);
  EXPECT_NEAR(br.x, n - 0.5f, 1e-3);
  EXPECT_NEAR(br.y, n - 0.5f, 1e-3);
  // Crop row r shows source row 49.5 + (r + ½)/k: the first and last rows ≈ 50 and 149.
  EXPECT_NEAR(f.gray.at<uchar>(0, n / 2), 50, 1.5);
  EXPECT_NEAR(f.gray.at<uchar>(n - 1, n / 2), 149, 1.5);
  EXPECT_NEAR(f.gray.at<uchar>(n / 2, n / 2), 100, 1.5);
}

TEST_F(Aligned, ShrinkingDoesNotAlias) {
  // A vertical grating with a 2 px period averages to mid-gray; a plain bilinear warp at
  // 1/4 scale would sample it and keep stripes or a wrong level. 512 → 128 px.
  cv::Mat img(600, 600, CV_8U);
  for (int x = 0; x < img.cols; ++x) img.col(x).setTo(cv::Scalar(x % 2 ? 255 : 0));
  const AlignedFace f = aligner_->crop_box(img, cv::Rect(44, 44, 512, 512));
  cv::Scalar mean, sd;
  cv::meanStdDev(f.gray(cv::Rect(8, 8, 112, 112)), mean, sd);
  EXPECT_NEAR(mean[0], 127.5, 3);
  EXPECT_LT(sd[0], 4.0);
}

TEST_F(Aligned, ConcurrentCallsMatchSequential) {
  const cv::Mat g = load_gray("tvshow/raj/raj2.png");
  if (g.empty()) GTEST_SKIP() << "tvshow crops not found under " << data_dir() << " (set LUMAFLOW_DATA)";
  const cv::Rect box = FaceAligner::whole_image_box(g.size(), 0.06);
  const AlignedFace ref = aligner_->align(g, box);
  AlignedFace r1, r2;
  std::thread t1([&] { r1 = aligner_->align(g, box); });
  std::thread t2([&] { r2 = aligner_->align(g, box); });
  t1.join();
  t2.join();
  EXPECT_EQ(cv::norm(ref.gray, r1.gray, cv::NORM_INF), 0.0);
  EXPECT_EQ(cv::norm(ref.gray, r2.gray, cv::NORM_INF), 0.0);
}

TEST_F(Aligned, RejectsBadInput) {
  EXPECT_THROW(aligner_->align(cv::Mat(), cv::Rect(0, 0, 10, 10)), std::invalid_argument);
  const cv::Mat img(50, 50, CV_8U, cv::Scalar(0));
  EXPECT_THROW(aligner_->align(img, cv::Rect(0, 0, 0, 10)), std::invalid_argument);
  EXPECT_THROW(aligner_->align(img, cv::Rect(100, 100, 10, 10)), std::invalid_argument);
}

// --- equalize -----------------------------------------------------------------------------

TEST(Equalize, HistStretchesLowContrast) {
  cv::Mat g(64, 64, CV_8U);
  for (int y = 0; y < g.rows; ++y)
    for (int x = 0; x < g.cols; ++x) g.at<uchar>(y, x) = static_cast<uchar>(100 + (x + y) % 21);  // 100..120
  const cv::Mat e = equalize(g, Equalize::hist);
  double lo, hi;
  cv::minMaxLoc(e, &lo, &hi);
  EXPECT_LE(lo, 15);
  EXPECT_GE(hi, 250);
  // Monotone: brighter input never maps darker.
  for (int i = 0; i + 1 < 64 * 64; ++i) {
    if (g.data[i] < g.data[i + 1]) {
      EXPECT_LE(e.data[i], e.data[i + 1]);
    }
  }
}

TEST(Equalize, ClahePreservesSizeTypeAndNoneIsIdentity) {
  std::mt19937_64 rng(3);
  cv::Mat g(37, 53, CV_8U);
  for (int i = 0; i < g.rows * g.cols; ++i) g.data[i] = static_cast<uchar>(80 + rng() % 40);
  const cv::Mat c = equalize(g, Equalize::clahe, 2.0, 4);
  EXPECT_EQ(c.size(), g.size());
  EXPECT_EQ(c.type(), CV_8UC1);
  const cv::Mat n = equalize(g, Equalize::none);
  EXPECT_EQ(cv::norm(n, g, cv::NORM_INF), 0.0);
  EXPECT_NE(n.data, g.data);  // a copy, not a view
  EXPECT_THROW(equalize(cv::Mat(4, 4, CV_8UC3), Equalize::hist), std::invalid_argument);
  EXPECT_THROW(equalize(g, Equalize::clahe, 0.0), std::invalid_argument);
}
