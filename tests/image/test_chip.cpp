// extract_face_chip: dlib's aligned 150 px chip (padding 0.25), RGB out.
//
// A synthetic face: 68 hand-placed landmarks, rotated, scaled and moved into a noisy colour
// image, with coloured discs drawn at the eye centres and the mouth. The chip must put each disc
// where dlib's own chip transform (get_mapping_to_chip) sends that point, ±1 px, in the right
// channel; and it must equal, byte for byte, what dlib gives for the same picture held as
// dlib::matrix<rgb_pixel>.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>

#include <dlib/image_processing.h>
#include <dlib/image_transforms/interpolation.h>
#include <dlib/matrix.h>
#include <dlib/opencv/cv_image.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "nodes/image/chip.hpp"

namespace fs = std::filesystem;
using lumaflow::ChipOptions;

namespace {

// A frontal face in dlib's 68-point numbering, centred on the origin, ≈ 100 units wide, y down.
std::vector<cv::Point2d> canonical_face() {
  std::vector<cv::Point2d> p(68);
  const double pi = std::acos(-1.0);
  for (int i = 0; i <= 16; ++i) {  // jaw, ear to ear under the chin
    const double t = pi * i / 16.0;
    p[i] = {-50 * std::cos(t), -10 + 70 * std::sin(t)};
  }
  for (int i = 0; i < 5; ++i) {  // brows
    p[17 + i] = {-42.0 + 8 * i, -38 - 4 * std::sin(pi * i / 4)};
    p[22 + i] = {10.0 + 8 * i, -38 - 4 * std::sin(pi * i / 4)};
  }
  for (int i = 0; i < 4; ++i) p[27 + i] = {0, -25 + 10.0 * i};  // nose bridge
  for (int i = 0; i < 5; ++i) p[31 + i] = {-10 + 5.0 * i, i == 2 ? 14.0 : 12.0};
  // Eyes: outer corner, two upper-lid points, inner corner, two lower-lid points (dlib's order);
  // symmetric, so each eye's centre is exactly its ellipse centre.
  const double eye_deg[6] = {180, 135, 45, 0, -45, -135};
  for (int i = 0; i < 6; ++i) {
    const double a = eye_deg[i] * pi / 180;
    p[36 + i] = {-22 + 9 * std::cos(a), -22 - 4 * std::sin(a)};
    p[42 + i] = {22 - 9 * std::cos(a), -22 - 4 * std::sin(a)};
  }
  for (int i = 0; i < 12; ++i) {  // outer lip, from the left corner over the top
    const double a = pi - 2 * pi * i / 12;
    p[48 + i] = {20 * std::cos(a), 32 - 8 * std::sin(a)};
  }
  for (int i = 0; i < 8; ++i) {  // inner lip
    const double a = pi - 2 * pi * i / 8;
    p[60 + i] = {14 * std::cos(a), 32 - 3 * std::sin(a)};
  }
  return p;
}

struct Scene {
  cv::Mat bgr;
  dlib::full_object_detection det;
  dlib::dpoint left_eye, right_eye, mouth;  // image coordinates, from the rounded landmarks
};

dlib::dpoint mean_of(const dlib::full_object_detection& d, int first, int last) {
  dlib::dpoint s(0, 0);
  for (int i = first; i <= last; ++i) s += dlib::dpoint(d.part(i));
  return s / double(last - first + 1);
}

void disc(cv::Mat& img, const dlib::dpoint& c, double r, const cv::Scalar& bgr) {
  constexpr int kShift = 4;  // sub-pixel centre
  cv::circle(img, cv::Point(static_cast<int>(std::lround(c.x() * 16)), static_cast<int>(std::lround(c.y() * 16))),
             static_cast<int>(std::lround(r * 16)), bgr, cv::FILLED, cv::LINE_AA, kShift);
}

Scene make_scene(double angle_deg, double scale, cv::Point2d centre, cv::Size size) {
  Scene s;
  std::mt19937 rng(11);
  s.bgr.create(size, CV_8UC3);
  for (int y = 0; y < size.height; ++y)
    for (int x = 0; x < size.width; ++x) {
      auto& px = s.bgr.at<cv::Vec3b>(y, x);
      px = {static_cast<uint8_t>(90 + rng() % 30), static_cast<uint8_t>(100 + rng() % 30),
            static_cast<uint8_t>(110 + rng() % 30)};
    }
  const double a = angle_deg * std::acos(-1.0) / 180;
  std::vector<cv::Point2f> lm;
  for (const auto& p : canonical_face())
    lm.emplace_back(static_cast<float>(centre.x + scale * (std::cos(a) * p.x - std::sin(a) * p.y)),
                    static_cast<float>(centre.y + scale * (std::sin(a) * p.x + std::cos(a) * p.y)));
  s.det = lumaflow::to_dlib_detection(lm);
  s.left_eye = mean_of(s.det, 36, 41);
  s.right_eye = mean_of(s.det, 42, 47);
  s.mouth = mean_of(s.det, 48, 59);
  const double r = 3 * scale;
  disc(s.bgr, s.left_eye, r, {0, 0, 255});   // red
  disc(s.bgr, s.right_eye, r, {0, 255, 0});  // green
  disc(s.bgr, s.mouth, r, {255, 0, 0});      // blue
  return s;
}

// Centroid of the pixels where channel `c` of the RGB chip stands out from the other two.
cv::Point2d centroid(const cv::Mat& rgb, int c) {
  double sw = 0, sx = 0, sy = 0;
  for (int y = 0; y < rgb.rows; ++y)
    for (int x = 0; x < rgb.cols; ++x) {
      const auto& p = rgb.at<cv::Vec3b>(y, x);
      const double w = std::max(0.0, p[c] - std::max(p[(c + 1) % 3], p[(c + 2) % 3]) - 60.0);
      sw += w, sx += w * x, sy += w * y;
    }
  return sw > 0 ? cv::Point2d(sx / sw, sy / sw) : cv::Point2d(-1, -1);
}

cv::Point2d apply(const cv::Mat& t, const dlib::dpoint& p) {
  return {t.at<double>(0, 0) * p.x() + t.at<double>(0, 1) * p.y() + t.at<double>(0, 2),
          t.at<double>(1, 0) * p.x() + t.at<double>(1, 1) * p.y() + t.at<double>(1, 2)};
}

// dlib's chip for the same picture as dlib::matrix<rgb_pixel>, as dlib's own examples make it.
cv::Mat dlib_reference_chip(const cv::Mat& bgr, const dlib::full_object_detection& det) {
  dlib::matrix<dlib::rgb_pixel> img;
  dlib::assign_image(img, dlib::cv_image<dlib::bgr_pixel>(bgr));
  dlib::matrix<dlib::rgb_pixel> chip;
  dlib::extract_image_chip(img, dlib::get_face_chip_details(det, 150, 0.25), chip);
  cv::Mat out(static_cast<int>(chip.nr()), static_cast<int>(chip.nc()), CV_8UC3);
  for (int y = 0; y < out.rows; ++y)
    for (int x = 0; x < out.cols; ++x) out.at<cv::Vec3b>(y, x) = {chip(y, x).red, chip(y, x).green, chip(y, x).blue};
  return out;
}

void expect_same(const cv::Mat& a, const cv::Mat& b) {
  ASSERT_EQ(a.size(), b.size());
  ASSERT_EQ(a.type(), b.type());
  EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0.0);
}

}  // namespace

TEST(Chip, MarkersLandWhereDlibMapsTheLandmarks) {
  // Several poses: small and large faces (the large ones go through dlib's pyramid), tilted both ways.
  const struct {
    double angle, scale;
    cv::Point2d centre;
  } poses[] = {{12, 2.2, {230, 170}}, {-20, 1.4, {160, 150}}, {0, 1.0, {120, 110}}, {35, 4.0, {400, 330}}};
  for (const auto& pose : poses) {
    SCOPED_TRACE("angle " + std::to_string(pose.angle) + " scale " + std::to_string(pose.scale));
    const Scene s = make_scene(pose.angle, pose.scale, pose.centre, {640, 560});
    const cv::Mat chip = lumaflow::extract_face_chip(s.bgr, s.det);
    ASSERT_EQ(chip.size(), cv::Size(150, 150));
    ASSERT_EQ(chip.type(), CV_8UC3);
    const cv::Mat t = lumaflow::face_chip_transform(s.det);
    const auto want_l = apply(t, s.left_eye), want_r = apply(t, s.right_eye), want_m = apply(t, s.mouth);
    // Red, green and blue discs in channels 0, 1, 2: the chip is RGB.
    const auto got_l = centroid(chip, 0), got_r = centroid(chip, 1), got_m = centroid(chip, 2);
    EXPECT_NEAR(got_l.x, want_l.x, 1.0);
    EXPECT_NEAR(got_l.y, want_l.y, 1.0);
    EXPECT_NEAR(got_r.x, want_r.x, 1.0);
    EXPECT_NEAR(got_r.y, want_r.y, 1.0);
    EXPECT_NEAR(got_m.x, want_m.x, 1.0);
    EXPECT_NEAR(got_m.y, want_m.y, 1.0);
    // dlib's template puts the face upright and centred: eyes level, left of / right of the
    // middle, mouth in between and below.
    EXPECT_NEAR(got_l.y, got_r.y, 1.5);
    EXPECT_LT(got_l.x, 75);
    EXPECT_GT(got_r.x, 75);
    EXPECT_NEAR(got_m.x, 0.5 * (got_l.x + got_r.x), 2.0);
    EXPECT_GT(got_m.y, got_l.y + 20);
    expect_same(chip, dlib_reference_chip(s.bgr, s.det));
  }
}

TEST(Chip, GreyAndBgraInputsMatchTheirBgrEquivalent) {
  const Scene s = make_scene(8, 2.0, {200, 180}, {400, 360});
  cv::Mat grey, grey_bgr, bgra;
  cv::cvtColor(s.bgr, grey, cv::COLOR_BGR2GRAY);
  cv::cvtColor(grey, grey_bgr, cv::COLOR_GRAY2BGR);
  cv::cvtColor(s.bgr, bgra, cv::COLOR_BGR2BGRA);
  expect_same(lumaflow::extract_face_chip(grey, s.det), lumaflow::extract_face_chip(grey_bgr, s.det));
  expect_same(lumaflow::extract_face_chip(bgra, s.det), lumaflow::extract_face_chip(s.bgr, s.det));
}

TEST(Chip, OpenCvLandmarksAndOptions) {
  const Scene s = make_scene(-5, 1.8, {180, 160}, {360, 320});
  std::vector<cv::Point2f> pts;
  for (unsigned long i = 0; i < s.det.num_parts(); ++i)
    pts.emplace_back(static_cast<float>(s.det.part(i).x()), static_cast<float>(s.det.part(i).y()));
  expect_same(lumaflow::extract_face_chip(s.bgr, pts), lumaflow::extract_face_chip(s.bgr, s.det));
  const cv::Mat big = lumaflow::extract_face_chip(s.bgr, s.det, ChipOptions{200, 0.2});
  EXPECT_EQ(big.size(), cv::Size(200, 200));
}

TEST(Chip, RejectsBadInput) {
  const Scene s = make_scene(0, 1.5, {150, 150}, {300, 300});
  EXPECT_THROW(lumaflow::extract_face_chip(cv::Mat(), s.det), std::invalid_argument);
  EXPECT_THROW(lumaflow::extract_face_chip(cv::Mat(300, 300, CV_32FC3), s.det), std::invalid_argument);
  EXPECT_THROW(lumaflow::extract_face_chip(cv::Mat(300, 300, CV_8UC2), s.det), std::invalid_argument);
  std::vector<dlib::point> ten(10, dlib::point(5, 5));
  EXPECT_THROW(lumaflow::extract_face_chip(s.bgr, dlib::full_object_detection(dlib::rectangle(0, 0, 9, 9), ten)),
               std::invalid_argument);
  EXPECT_THROW(lumaflow::extract_face_chip(s.bgr, s.det, ChipOptions{0, 0.25}), std::invalid_argument);
  EXPECT_THROW(lumaflow::extract_face_chip(s.bgr, s.det, ChipOptions{150, -1}), std::invalid_argument);
}

TEST(Chip, RealFaceWithDlibLandmarks) {
  // End to end on a real face: dlib's 68-point predictor, then the chip, identical to dlib's.
  const fs::path model = fs::path(LUMAFLOW_DLIB_DATA) / "shape_predictor_68_face_landmarks.dat";
  const char* env = std::getenv("LUMAFLOW_DATA");
  const fs::path data = env && *env ? fs::path(env) : fs::path(LUMAFLOW_SOURCE_DIR) / ".." / "shared" / "data";
  const fs::path face = data / "tvshow" / "penny" / "penny1.png";
  if (!fs::exists(model)) GTEST_SKIP() << model << " not found (Debian package libdlib-data)";
  if (!fs::exists(face)) GTEST_SKIP() << "real data set 'tvshow' not found (set LUMAFLOW_DATA)";
  dlib::shape_predictor sp;
  dlib::deserialize(model.string()) >> sp;
  const cv::Mat bgr = cv::imread(face.string(), cv::IMREAD_COLOR);
  const auto det = sp(dlib::cv_image<dlib::bgr_pixel>(bgr), dlib::rectangle(15, 15, 134, 134));
  ASSERT_EQ(det.num_parts(), 68u);
  const cv::Mat chip = lumaflow::extract_face_chip(bgr, det);
  expect_same(chip, dlib_reference_chip(bgr, det));
  // The tvshow crops are already near dlib's framing: the eyes land in the upper half, level.
  const cv::Mat t = lumaflow::face_chip_transform(det);
  const auto l = apply(t, mean_of(det, 36, 41)), r = apply(t, mean_of(det, 42, 47));
  EXPECT_NEAR(l.y, r.y, 3.0);
  EXPECT_LT(l.y, 75);
  EXPECT_LT(l.x, r.x);
}
