#include "nodes/image/align.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>

#include <dlib/image_processing/shape_predictor.h>
#include <dlib/opencv/cv_image.h>
#include <opencv2/imgproc.hpp>

#ifndef LUMAFLOW_DLIB_DATA
#define LUMAFLOW_DLIB_DATA "/usr/share/dlib"
#endif

namespace lumaflow {

struct FaceAligner::Model {
  dlib::shape_predictor predictor;
};

cv::Mat estimate_similarity(const std::vector<cv::Point2f>& from, const std::vector<cv::Point2f>& to,
                            const std::vector<double>& weights) {
  if (from.size() != to.size() || from.size() < 2)
    throw std::invalid_argument("estimate_similarity: need >= 2 matching point pairs");
  if (!weights.empty() && weights.size() != from.size())
    throw std::invalid_argument("estimate_similarity: one weight per point pair");
  const auto w = [&](size_t i) { return weights.empty() ? 1.0 : weights[i]; };
  double sw = 0, px = 0, py = 0, qx = 0, qy = 0;
  for (size_t i = 0; i < from.size(); ++i) {
    if (!(w(i) >= 0)) throw std::invalid_argument("estimate_similarity: weights must be >= 0");
    sw += w(i);
    px += w(i) * from[i].x, py += w(i) * from[i].y, qx += w(i) * to[i].x, qy += w(i) * to[i].y;
  }
  if (!(sw > 0)) throw std::invalid_argument("estimate_similarity: all weights are zero");
  px /= sw, py /= sw, qx /= sw, qy /= sw;
  // With the map q = [a −b; b a] p + t the residual is linear in (a, b, t): centring on the
  // weighted means removes t and the normal equations decouple into the two sums below.
  double spp = 0, sa = 0, sb = 0;
  for (size_t i = 0; i < from.size(); ++i) {
    const double ux = from[i].x - px, uy = from[i].y - py;
    const double vx = to[i].x - qx, vy = to[i].y - qy;
    spp += w(i) * (ux * ux + uy * uy);
    sa += w(i) * (ux * vx + uy * vy);
    sb += w(i) * (ux * vy - uy * vx);
  }
  if (!(spp > 1e-12)) throw std::invalid_argument("estimate_similarity: source points coincide");
  const double a = sa / spp, b = sb / spp;
  cv::Mat m(2, 3, CV_64F);
  m.at<double>(0, 0) = a;
  m.at<double>(0, 1) = -b;
  m.at<double>(0, 2) = qx - (a * px - b * py);
  m.at<double>(1, 0) = b;
  m.at<double>(1, 1) = a;
  m.at<double>(1, 2) = qy - (b * px + a * py);
  return m;
}

cv::Point2f FaceAligner::canonical_left_eye(const AlignOptions& o) {
  // Pixel centres run 0..N−1, so the fraction f of the crop sits at f·N − 0.5.
  return {(0.5f - o.eye_dx) * o.size - 0.5f, o.eye_y * o.size - 0.5f};
}
cv::Point2f FaceAligner::canonical_right_eye(const AlignOptions& o) {
  return {(0.5f + o.eye_dx) * o.size - 0.5f, o.eye_y * o.size - 0.5f};
}
cv::Point2f FaceAligner::canonical_mouth(const AlignOptions& o) {
  return {0.5f * o.size - 0.5f, o.mouth_y * o.size - 0.5f};
}

cv::Rect FaceAligner::whole_image_box(cv::Size s, double inset) {
  const int dx = static_cast<int>(std::lround(inset * s.width));
  const int dy = static_cast<int>(std::lround(inset * s.height));
  return {dx, dy, std::max(1, s.width - 2 * dx), std::max(1, s.height - 2 * dy)};
}

bool FaceAligner::plausible(const cv::Point2f& le, const cv::Point2f& re, const cv::Point2f& mouth,
                            const cv::Rect& box) {
  const double w = std::max(1, box.width), h = std::max(1, box.height);
  const double dx = re.x - le.x, dy = re.y - le.y;
  const double d = std::hypot(dx, dy);
  if (!(d > 0.15 * w) || d > 0.9 * w) return false;
  // Eye line within ±40° of horizontal and left really left.
  if (dx <= 0 || std::abs(dy) > 0.84 * dx) return false;
  const double mx = box.x - 0.25 * w, my = box.y - 0.25 * h;
  const auto inside = [&](const cv::Point2f& p) {
    return p.x >= mx && p.x <= mx + 1.5 * w && p.y >= my && p.y <= my + 1.5 * h;
  };
  if (!inside(le) || !inside(re) || !inside(mouth)) return false;
  // Mouth relative to the eye midpoint, in units of the inter-eye distance, in the frame of
  // the eye line (u along it, n perpendicular and pointing down the face).
  const double ux = dx / d, uy = dy / d, nx = -uy, ny = ux;
  const double ex = 0.5 * (le.x + re.x), ey = 0.5 * (le.y + re.y);
  const double along = ((mouth.x - ex) * ux + (mouth.y - ey) * uy) / d;
  const double down = ((mouth.x - ex) * nx + (mouth.y - ey) * ny) / d;
  return std::abs(along) <= 0.35 && down >= 0.6 && down <= 1.8;
}

FaceAligner::FaceAligner(const AlignOptions& options) : opt_(options) {
  if (opt_.size < 8) throw std::invalid_argument("AlignOptions: size must be >= 8");
  if (!(opt_.mouth_weight >= 0)) throw std::invalid_argument("AlignOptions: mouth_weight must be >= 0");
  if (!(opt_.eye_dx > 0 && opt_.eye_dx < 0.5f) || !(opt_.eye_y > 0 && opt_.eye_y < 1) ||
      !(opt_.mouth_y > opt_.eye_y && opt_.mouth_y < 1))
    throw std::invalid_argument("AlignOptions: need 0 < eye_dx < 0.5 and 0 < eye_y < mouth_y < 1");
  const std::string path = opt_.landmarks_path.empty()
                               ? std::string(LUMAFLOW_DLIB_DATA) + "/shape_predictor_68_face_landmarks.dat"
                               : opt_.landmarks_path;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("landmark model not found: " + path + " (install the Debian package libdlib-data)");
  auto model = std::make_shared<Model>();
  try {
    dlib::deserialize(model->predictor, in);
  } catch (const std::exception& e) {
    throw std::runtime_error("landmark model unreadable or corrupt: " + path + " (" + e.what() +
                             "; reinstall the Debian package libdlib-data)");
  }
  if (model->predictor.num_parts() != 68)
    throw std::runtime_error("landmark model is not a 68-point model: " + path +
                             " (expected the one in the Debian package libdlib-data)");
  model_ = std::move(model);
}

FaceAligner::~FaceAligner() = default;
FaceAligner::FaceAligner(const FaceAligner&) = default;
FaceAligner& FaceAligner::operator=(const FaceAligner&) = default;

namespace {

void check_input(const cv::Mat& image) {
  if (image.empty()) throw std::invalid_argument("FaceAligner: empty image");
  if (image.depth() != CV_8U || (image.channels() != 1 && image.channels() != 3 && image.channels() != 4))
    throw std::invalid_argument("FaceAligner: expected an 8-bit gray, BGR or BGRA image");
}

// The gray pixels of `region` (a sub-rectangle of image); a view when the image is gray.
cv::Mat gray_region(const cv::Mat& image, const cv::Rect& region) {
  const cv::Mat roi = image(region);
  if (image.channels() == 1) return roi;
  cv::Mat g;
  cv::cvtColor(roi, g, image.channels() == 3 ? cv::COLOR_BGR2GRAY : cv::COLOR_BGRA2GRAY);
  return g;
}

// Working region for one face: the box with a margin, so the predictor and the warp see
// whole features, while colour frames are converted only near the face.
cv::Rect work_region(const cv::Rect& box, cv::Size image_size) {
  const int mx = box.width / 2 + 2, my = box.height / 2 + 2;
  return cv::Rect(box.x - mx, box.y - my, box.width + 2 * mx, box.height + 2 * my) &
         cv::Rect(0, 0, image_size.width, image_size.height);
}

std::vector<cv::Point2f> predict(const dlib::shape_predictor& sp, const cv::Mat& gray, const cv::Rect& box_in_gray) {
  const dlib::cv_image<unsigned char> img(gray);
  const dlib::rectangle r(box_in_gray.x, box_in_gray.y, box_in_gray.x + box_in_gray.width - 1,
                          box_in_gray.y + box_in_gray.height - 1);
  const dlib::full_object_detection shape = sp(img, r);
  std::vector<cv::Point2f> pts(shape.num_parts());
  for (unsigned long i = 0; i < shape.num_parts(); ++i)
    pts[i] = cv::Point2f(static_cast<float>(shape.part(i).x()), static_cast<float>(shape.part(i).y()));
  return pts;
}

cv::Point2f mean_of(const std::vector<cv::Point2f>& p, int b, int e) {
  cv::Point2f s(0, 0);
  for (int i = b; i < e; ++i) s += p[static_cast<size_t>(i)];
  return s * (1.0f / static_cast<float>(e - b));
}

// Applies the source → crop similarity T to `src`, reducing with INTER_AREA first when T
// shrinks, so that the bilinear warp never skips source pixels.
cv::Mat warp_face(const cv::Mat& src, const cv::Mat& T, int n) {
  const double a = T.at<double>(0, 0), b = T.at<double>(1, 0);
  const double s = std::hypot(a, b);
  cv::Mat out;
  if (s < 0.8) {
    cv::Mat inv;
    cv::invertAffineTransform(T, inv);
    double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300;
    for (const double cx : {-0.5, n - 0.5})
      for (const double cy : {-0.5, n - 0.5}) {
        const double x = inv.at<double>(0, 0) * cx + inv.at<double>(0, 1) * cy + inv.at<double>(0, 2);
        const double y = inv.at<double>(1, 0) * cx + inv.at<double>(1, 1) * cy + inv.at<double>(1, 2);
        x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
      }
    const double pad = 2.0 / s;
    const cv::Rect want(static_cast<int>(std::floor(x0 - pad)), static_cast<int>(std::floor(y0 - pad)),
                        static_cast<int>(std::ceil(x1 - x0 + 2 * pad)) + 1,
                        static_cast<int>(std::ceil(y1 - y0 + 2 * pad)) + 1);
    const cv::Rect roi = want & cv::Rect(0, 0, src.cols, src.rows);
    if (roi.width >= 2 && roi.height >= 2) {
      const cv::Size small_size(std::max(1, static_cast<int>(std::lround(roi.width * s))),
                                std::max(1, static_cast<int>(std::lround(roi.height * s))));
      cv::Mat small;
      cv::resize(src(roi), small, small_size, 0, 0, cv::INTER_AREA);
      // small pixel (u, v) has its centre at source (roi.x + (u + ½)·fx − ½, ...).
      const double fx = static_cast<double>(roi.width) / small.cols;
      const double fy = static_cast<double>(roi.height) / small.rows;
      const double ox = roi.x + 0.5 * fx - 0.5, oy = roi.y + 0.5 * fy - 0.5;
      cv::Mat T2(2, 3, CV_64F);
      for (int r = 0; r < 2; ++r) {
        const double p = T.at<double>(r, 0), q = T.at<double>(r, 1), t = T.at<double>(r, 2);
        T2.at<double>(r, 0) = p * fx;
        T2.at<double>(r, 1) = q * fy;
        T2.at<double>(r, 2) = p * ox + q * oy + t;
      }
      cv::warpAffine(small, out, T2, cv::Size(n, n), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
      return out;
    }
  }
  cv::warpAffine(src, out, T, cv::Size(n, n), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  return out;
}

// Square of side max(w, h) centred on the box; its continuous edges go onto the crop's edges
// (pixel centres at integers: the square spans [left, left + side] with left = x0 − ½).
cv::Mat square_transform(const cv::Rect& box, int n) {
  const double side = std::max(box.width, box.height);
  const double k = n / side;
  const double left = box.x + 0.5 * box.width - 0.5 * side - 0.5;
  const double top = box.y + 0.5 * box.height - 0.5 * side - 0.5;
  return (cv::Mat_<double>(2, 3) << k, 0, -left * k - 0.5, 0, k, -top * k - 0.5);
}

// Warps the gray working region (whose top-left is `off` in the source image) by the
// source → crop transform T.
cv::Mat warp_from_region(const cv::Mat& gray, const cv::Point2f& off, const cv::Mat& T, int n) {
  cv::Mat Tr = T.clone();
  Tr.at<double>(0, 2) += Tr.at<double>(0, 0) * off.x + Tr.at<double>(0, 1) * off.y;
  Tr.at<double>(1, 2) += Tr.at<double>(1, 0) * off.x + Tr.at<double>(1, 1) * off.y;
  return warp_face(gray, Tr, n);
}

}  // namespace

std::vector<cv::Point2f> FaceAligner::landmarks(const cv::Mat& image, const cv::Rect& box) const {
  check_input(image);
  if (box.width <= 0 || box.height <= 0) throw std::invalid_argument("FaceAligner: empty face box");
  const cv::Rect region = work_region(box, image.size());
  if (region.area() == 0) throw std::invalid_argument("FaceAligner: face box outside the image");
  const cv::Mat gray = gray_region(image, region);
  auto pts = predict(model_->predictor, gray, box - region.tl());
  for (auto& p : pts) p += cv::Point2f(static_cast<float>(region.x), static_cast<float>(region.y));
  return pts;
}

FaceAligner::KeyPoints FaceAligner::key_points(const std::vector<cv::Point2f>& p) {
  if (p.size() != 68) throw std::invalid_argument("FaceAligner: key points need 68 landmarks");
  const cv::Point2f e1 = mean_of(p, 36, 42), e2 = mean_of(p, 42, 48);
  return {e1.x <= e2.x ? e1 : e2, e1.x <= e2.x ? e2 : e1, 0.5f * (p[48] + p[54])};
}

bool FaceAligner::plausible(const std::vector<cv::Point2f>& landmarks68, const cv::Rect& face_box) {
  if (landmarks68.size() != 68) return false;
  const KeyPoints k = key_points(landmarks68);
  return plausible(k.left_eye, k.right_eye, k.mouth, face_box);
}

AlignedFace FaceAligner::align(const cv::Mat& image, const cv::Rect& box) const {
  check_input(image);
  if (box.width <= 0 || box.height <= 0) throw std::invalid_argument("FaceAligner: empty face box");
  const cv::Rect region = work_region(box, image.size());
  if (region.area() == 0) throw std::invalid_argument("FaceAligner: face box outside the image");
  const cv::Mat gray = gray_region(image, region);
  const cv::Point2f off(static_cast<float>(region.x), static_cast<float>(region.y));

  AlignedFace f;
  f.landmarks = predict(model_->predictor, gray, box - region.tl());
  for (auto& p : f.landmarks) p += off;
  const KeyPoints k = key_points(f.landmarks);
  f.left_eye = k.left_eye;
  f.right_eye = k.right_eye;
  f.mouth = k.mouth;
  f.landmarks_found = plausible(f.left_eye, f.right_eye, f.mouth, box);

  if (f.landmarks_found) {
    f.transform = estimate_similarity({f.left_eye, f.right_eye, f.mouth},
                                      {canonical_left_eye(opt_), canonical_right_eye(opt_), canonical_mouth(opt_)},
                                      {1.0, 1.0, static_cast<double>(opt_.mouth_weight)});
  } else {
    f.transform = square_transform(box, opt_.size);
  }
  f.gray = warp_from_region(gray, off, f.transform, opt_.size);
  return f;
}

AlignedFace FaceAligner::crop_box(const cv::Mat& image, const cv::Rect& box) const {
  check_input(image);
  if (box.width <= 0 || box.height <= 0) throw std::invalid_argument("FaceAligner: empty face box");
  const cv::Rect region = work_region(box, image.size());
  if (region.area() == 0) throw std::invalid_argument("FaceAligner: face box outside the image");
  const cv::Mat gray = gray_region(image, region);
  AlignedFace f;
  f.transform = square_transform(box, opt_.size);
  f.gray = warp_from_region(gray, cv::Point2f(static_cast<float>(region.x), static_cast<float>(region.y)), f.transform,
                            opt_.size);
  return f;
}

}  // namespace lumaflow
