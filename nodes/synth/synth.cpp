#include "nodes/synth/synth.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numbers>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>
#include <utility>

#include "nodes/core/atomic_file.hpp"
#include "nodes/core/parallel.hpp"
#include "nodes/core/random.hpp"

namespace lumaflow {

namespace {

constexpr double kPi = std::numbers::pi;

using Rng = SplitMix64;  // specified in nodes/core/random.hpp, so the bytes do not depend on the library

uint64_t mix(uint64_t a, uint64_t b) {
  Rng r(a ^ (b * 0xD1B54A32D192ED03ull + 0x632BE59BD9B4E019ull));
  r.next();
  return r.next();
}
uint64_t stream(uint64_t seed, uint64_t tag, uint64_t i, uint64_t j = 0) { return mix(mix(mix(seed, tag), i), j); }

cv::Scalar jitter(Rng& r, cv::Scalar c, double amount) {
  for (int k = 0; k < 3; ++k) c[k] = std::clamp(c[k] + r.uniform(-amount, amount), 0.0, 255.0);
  return c;
}
cv::Scalar lerp(const cv::Scalar& a, const cv::Scalar& b, double t) {
  return cv::Scalar(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t);
}
cv::Scalar shade(const cv::Scalar& c, double f) {
  return cv::Scalar(std::min(255.0, c[0] * f), std::min(255.0, c[1] * f), std::min(255.0, c[2] * f));
}
cv::Scalar opaque(const cv::Scalar& c) { return cv::Scalar(c[0], c[1], c[2], 255); }

using Poly = std::vector<cv::Point2d>;  // face-local coordinates, units of the crop side

Poly ellipse_poly(double cx, double cy, double a, double b, double angle_deg = 0, double t0 = 0, double t1 = 360,
                  int n = 72) {
  Poly p;
  const double ang = angle_deg * kPi / 180, ca = std::cos(ang), sa = std::sin(ang);
  for (int i = 0; i <= n; ++i) {
    const double t = (t0 + (t1 - t0) * i / n) * kPi / 180;
    const double x = a * std::cos(t), y = b * std::sin(t);
    p.emplace_back(cx + x * ca - y * sa, cy + x * sa + y * ca);
  }
  return p;
}

// Draws face-local shapes on a BGRA canvas: local (0, 0) is the face centre; the variation's
// shift, rotation and scale map it into pixels. Alpha records coverage (for pasting into scenes).
class Painter {
 public:
  static constexpr int kShift = 4;  // sub-pixel bits for OpenCV's fixed-point drawing

  Painter(cv::Mat& img, double px_per_unit, double cx, double cy, double rot_deg)
      : img_(img),
        s_(px_per_unit),
        cx_(cx),
        cy_(cy),
        c_(std::cos(rot_deg * kPi / 180)),
        sn_(std::sin(rot_deg * kPi / 180)) {}

  cv::Point px(const cv::Point2d& p) const {
    const double x = cx_ + s_ * (c_ * p.x - sn_ * p.y), y = cy_ + s_ * (sn_ * p.x + c_ * p.y);
    return {static_cast<int>(std::lround(x * (1 << kShift))), static_cast<int>(std::lround(y * (1 << kShift)))};
  }
  void fill(const Poly& poly, const cv::Scalar& colour) {
    std::vector<cv::Point> pts;
    pts.reserve(poly.size());
    for (const auto& p : poly) pts.push_back(px(p));
    cv::fillPoly(img_, std::vector<std::vector<cv::Point>>{pts}, opaque(colour), cv::LINE_AA, kShift);
  }
  void stroke(const Poly& poly, const cv::Scalar& colour, double width, bool closed = false) {
    std::vector<cv::Point> pts;
    for (const auto& p : poly) pts.push_back(px(p));
    const int t = std::max(1, static_cast<int>(std::lround(width * s_)));
    cv::polylines(img_, std::vector<std::vector<cv::Point>>{pts}, closed, opaque(colour), t, cv::LINE_AA, kShift);
  }
  void ellipse(double cx, double cy, double a, double b, const cv::Scalar& colour, double angle = 0) {
    fill(ellipse_poly(cx, cy, a, b, angle), colour);
  }

 private:
  cv::Mat& img_;
  double s_, cx_, cy_, c_, sn_;
};

Poly face_outline(const SynthIdentity& id) {
  Poly p;
  for (int i = 0; i <= 96; ++i) {
    const double t = 2 * kPi * i / 96;
    double x = id.face_w * std::cos(t);
    const double y = id.face_h * std::sin(t);
    if (y > 0) x *= 1.0 - 0.35 * id.jaw * std::pow(y / id.face_h, 2.0);  // narrower chin
    p.emplace_back(x, y);
  }
  return p;
}

// Cap of hair over the skull down to the hairline; `fringe` replaces the arched hairline by a
// straight cut at brow height.
Poly hair_cap(const SynthIdentity& id, double margin, bool fringe) {
  const double a = id.face_w + margin, b = id.face_h + margin * 1.4;
  Poly p = ellipse_poly(0, 0, a, b, 0, 180, 360, 48);
  const double temple = id.eye_y - 0.02;
  const double top = fringe ? id.eye_y - id.brow_lift - 0.015 : -id.hairline * id.face_h;
  p.emplace_back(id.face_w * 0.99, temple);
  for (int i = 0; i <= 16; ++i) {
    const double x = id.face_w * 0.85 * (1 - 2.0 * i / 16);
    const double t = std::pow(std::abs(x) / (id.face_w * 0.85), fringe ? 8.0 : 3.0);
    p.emplace_back(x, top + (temple - top) * t);
  }
  p.emplace_back(-id.face_w * 0.99, temple);
  return p;
}

// Hair that hangs behind the head (long, bob): drawn before the face.
Poly hair_back(const SynthIdentity& id, double bottom) {
  const double a = id.face_w + 0.045, b = id.face_h + 0.05;
  Poly p = ellipse_poly(0, 0, a, b, 0, 180, 360, 48);
  p.emplace_back(a + 0.01, bottom);
  for (int i = 1; i < 8; ++i) p.emplace_back(a - 2 * a * i / 8, bottom + ((i % 2) ? 0.015 : -0.01));
  p.emplace_back(-a - 0.01, bottom);
  return p;
}

void paint_face(cv::Mat& canvas, const SynthIdentity& id, const SynthVariation& var, double px_per_unit, double cx,
                double cy) {
  Painter P(canvas, px_per_unit * var.scale, cx, cy, var.rotation_deg);
  const cv::Scalar skin = id.skin, dark_skin = shade(id.skin, 0.8), line = shade(id.skin, 0.45);
  const cv::Scalar hair = id.hair;

  if (id.hair_style == 1) P.fill(hair_back(id, id.face_h + 0.12), shade(hair, 0.9));
  if (id.hair_style == 2) P.fill(hair_back(id, id.face_h * 0.45), shade(hair, 0.9));

  // Shoulders and neck.
  P.ellipse(0, id.face_h + 0.33, 0.46, 0.22, var.clothes);
  const double nw = id.face_w * 0.4;
  P.fill({{-nw, id.face_h * 0.5}, {nw, id.face_h * 0.5}, {nw * 1.1, id.face_h + 0.16}, {-nw * 1.1, id.face_h + 0.16}},
         dark_skin);
  P.ellipse(0, id.face_h + 0.14, nw * 1.25, 0.05, var.clothes);  // collar line hides the neck base
  if (id.hair_style == 1) {                                      // long hair falls over the shoulders in front
    P.fill({{-id.face_w - 0.05, 0.0},
            {-id.face_w + 0.02, 0.0},
            {-id.face_w + 0.0, id.face_h + 0.14},
            {-id.face_w - 0.07, id.face_h + 0.12}},
           hair);
    P.fill({{id.face_w + 0.05, 0.0},
            {id.face_w - 0.02, 0.0},
            {id.face_w - 0.0, id.face_h + 0.14},
            {id.face_w + 0.07, id.face_h + 0.12}},
           hair);
  }

  // Ears, face.
  for (int s : {-1, 1})
    P.ellipse(s * id.face_w * 0.97, id.eye_y + 0.04, id.ear_size * 0.55, id.ear_size, shade(skin, 0.9));
  P.fill(face_outline(id), skin);
  // Soft cheek colour.
  for (int s : {-1, 1})
    P.ellipse(s * id.eye_spacing * 0.62, id.mouth_y - 0.06, id.face_w * 0.16, id.face_w * 0.1,
              lerp(skin, cv::Scalar(120, 120, 230), 0.18));

  // Hair on top.
  switch (id.hair_style) {
    case 0: P.fill(hair_cap(id, 0.018, false), hair); break;
    case 1: P.fill(hair_cap(id, 0.03, false), hair); break;
    case 2: P.fill(hair_cap(id, 0.03, true), hair); break;
    case 3:
      for (int s : {-1, 1}) P.ellipse(s * id.face_w * 0.96, id.eye_y - 0.05, 0.028, 0.075, hair, s * 8.0);
      P.ellipse(-id.face_w * 0.25, -id.face_h * 0.72, id.face_w * 0.2, id.face_h * 0.08,
                lerp(skin, {255, 255, 255}, 0.25), -20);
      break;
    case 4: {
      P.fill(hair_cap(id, 0.02, false), hair);
      const double a = id.face_w + 0.02, b = id.face_h + 0.03;
      for (int i = 0; i <= 14; ++i) {
        const double t = (170 + 200.0 * i / 14) * kPi / 180;
        const double r = 0.032 + 0.012 * ((i * 7) % 3) / 2.0;
        P.ellipse(a * std::cos(t), b * std::sin(t), r, r, hair);
      }
      break;
    }
    default: {
      P.fill(hair_cap(id, 0.015, false), hair);
      const double a = id.face_w + 0.01, b = id.face_h + 0.015;
      for (int i = 0; i < 9; ++i) {
        const double t = (200 + 140.0 * (i + 0.5) / 9) * kPi / 180, w = 0.09;
        const double ux = std::cos(t), uy = std::sin(t);
        P.fill({{a * std::cos(t - w), b * std::sin(t - w)},
                {(a + 0.07) * ux, (b + 0.07) * uy},
                {a * std::cos(t + w), b * std::sin(t + w)}},
               hair);
      }
    }
  }

  // Beard (before the mouth, which is drawn over it).
  if (id.beard) {
    Poly b;
    for (const auto& p : face_outline(id))
      if (p.y > id.mouth_y - 0.05 && p.x != 0) b.push_back(p);
    std::sort(b.begin(), b.end(), [](const cv::Point2d& u, const cv::Point2d& v) { return u.x < v.x; });
    Poly poly;
    for (const auto& p : b) poly.push_back(p);
    poly.emplace_back(id.mouth_w * 1.2, id.mouth_y - 0.05);
    poly.emplace_back(-id.mouth_w * 1.2, id.mouth_y - 0.05);
    P.fill(poly, shade(hair, 0.95));
    P.ellipse(0, id.mouth_y - 0.03, id.mouth_w * 1.05, 0.018, shade(hair, 0.9));  // moustache
  }

  // Eyes.
  const double open = std::clamp(var.eye_open, 0.0, 1.2);
  for (int s : {-1, 1}) {
    const double ex = s * id.eye_spacing / 2, ey = id.eye_y;
    if (open < 0.3) {
      P.stroke(ellipse_poly(ex, ey, id.eye_w, id.eye_h * 0.5, 0, 10, 170, 16), line, 0.008);
    } else {
      const double eh = id.eye_h * open;
      P.ellipse(ex, ey, id.eye_w, eh, cv::Scalar(245, 245, 245));
      const double ir = std::min(id.iris * id.eye_h, eh * 0.98);
      P.ellipse(ex, ey, ir, ir, id.iris_colour);
      P.ellipse(ex, ey, ir * 0.45, ir * 0.45, cv::Scalar(15, 15, 15));
      P.ellipse(ex + ir * 0.3, ey - ir * 0.3, ir * 0.18, ir * 0.18, cv::Scalar(255, 255, 255));
      P.stroke(ellipse_poly(ex, ey, id.eye_w, eh, 0, 0, 360, 40), line, 0.006, true);
    }
    // Brow: inner end tilted down for a frown (tilt > 0).
    const double by = ey - id.brow_lift, tilt = id.brow_tilt * kPi / 180;
    Poly brow;
    for (int i = 0; i <= 8; ++i) {
      const double u = -1 + 2.0 * i / 8;  // −1 outer … +1 inner (towards the nose)
      const double x = ex - s * u * id.eye_w * 1.15;
      const double y = by - 0.012 * (1 - u * u) + u * std::tan(tilt) * id.eye_w;
      brow.emplace_back(x, y);
    }
    P.stroke(brow, id.hair_style == 3 ? shade(hair, 0.7) : shade(hair, 0.85), id.brow_thickness);
  }

  // Nose: bridge line and nostril arc.
  const double nb = id.eye_y + id.nose_len;
  P.stroke({{id.nose_w * 0.15, id.eye_y + 0.03}, {id.nose_w * 0.45, nb - 0.01}}, dark_skin, 0.008);
  P.stroke(ellipse_poly(0, nb - 0.012, id.nose_w, 0.016, 0, 10, 170, 16), shade(skin, 0.62), 0.009);

  // Mouth: lips between two parabolas around a centre line bent by the curve (smile > 0).
  const double curve = id.mouth_curve + var.mouth_curve_delta, mw = id.mouth_w, mh = id.mouth_h;
  Poly mouth, mid;
  for (int i = 0; i <= 20; ++i) {
    const double x = -mw + 2 * mw * i / 20, q = (x / mw) * (x / mw);
    mouth.emplace_back(x, id.mouth_y + curve * (0.5 - q) - 0.6 * mh * (1 - q));
    mid.emplace_back(x, id.mouth_y + curve * (0.5 - q));
  }
  for (int i = 20; i >= 0; --i) {
    const double x = -mw + 2 * mw * i / 20, q = (x / mw) * (x / mw);
    mouth.emplace_back(x, id.mouth_y + curve * (0.5 - q) + mh * (1 - q));
  }
  P.fill(mouth, id.lip);
  P.stroke(mid, shade(id.lip, 0.45), 0.007);

  if (id.glasses) {
    const cv::Scalar frame(35, 35, 40);
    const double r = id.eye_w * 1.45;
    for (int s : {-1, 1}) {
      P.stroke(ellipse_poly(s * id.eye_spacing / 2, id.eye_y, r, r * 0.8, 0, 0, 360, 40), frame, 0.009, true);
      P.stroke({{s * (id.eye_spacing / 2 + r), id.eye_y}, {s * id.face_w * 0.98, id.eye_y - 0.01}}, frame, 0.008);
    }
    P.stroke({{-id.eye_spacing / 2 + r, id.eye_y}, {id.eye_spacing / 2 - r, id.eye_y}}, frame, 0.008);
  }
}

// Face drawn on a size×size BGRA tile: backdrop in BGR with alpha 0, face pixels alpha 255.
// Rendered at 2× and area-reduced, on top of OpenCV's own anti-aliasing.
cv::Mat render_tile(const SynthIdentity& id, const SynthVariation& var, int size, bool gradient_backdrop) {
  constexpr int kSuper = 2;
  const int big = size * kSuper;
  cv::Mat canvas(big, big, CV_8UC4);
  for (int y = 0; y < big; ++y) {
    const double f = gradient_backdrop ? 1.08 - 0.16 * y / big : 1.0;
    canvas.row(y).setTo(cv::Scalar(std::min(255.0, var.background[0] * f), std::min(255.0, var.background[1] * f),
                                   std::min(255.0, var.background[2] * f), 0));
  }
  const double cx = big * (0.5 + var.shift_x), cy = big * (0.5 + var.shift_y);
  paint_face(canvas, id, var, big, cx, cy);
  cv::Mat tile;
  cv::resize(canvas, tile, cv::Size(size, size), 0, 0, cv::INTER_AREA);
  return tile;
}

// Multiplies by the lighting ramp and adds brightness, in place on the BGR(A) channels.
void apply_lighting(cv::Mat& img, const SynthVariation& var) {
  const double ca = std::cos(var.light_angle), sa = std::sin(var.light_angle);
  const double hx = img.cols / 2.0, hy = img.rows / 2.0, half = std::max(hx, hy);
  const int ch = img.channels();
  for (int y = 0; y < img.rows; ++y) {
    uchar* row = img.ptr<uchar>(y);
    for (int x = 0; x < img.cols; ++x) {
      const double proj = ((x + 0.5 - hx) * ca + (y + 0.5 - hy) * sa) / half;
      const double gain = 1.0 + var.light_strength * std::clamp(proj, -1.0, 1.0);
      for (int k = 0; k < 3; ++k) row[x * ch + k] = cv::saturate_cast<uchar>(row[x * ch + k] * gain + var.brightness);
    }
  }
}

void add_noise(cv::Mat& bgr, double sigma, uint64_t seed) {
  if (sigma <= 0) return;
  Rng r(seed);
  for (int y = 0; y < bgr.rows; ++y) {
    uchar* row = bgr.ptr<uchar>(y);
    for (int i = 0; i < bgr.cols * 3; ++i) row[i] = cv::saturate_cast<uchar>(row[i] + sigma * r.normal());
  }
}

struct FaceSpec {
  SynthIdentity id;
  SynthVariation var;
};

void paint_clutter(cv::Mat& frame, Rng& r) {
  const int w = frame.cols, h = frame.rows;
  const cv::Scalar wall_top = jitter(r, cv::Scalar(r.uniform(90, 200), r.uniform(90, 200), r.uniform(90, 200)), 20);
  const cv::Scalar wall_bottom = shade(wall_top, r.uniform(0.6, 0.9));
  const int floor_y = static_cast<int>(h * r.uniform(0.68, 0.82));
  for (int y = 0; y < h; ++y) frame.row(y).setTo(lerp(wall_top, wall_bottom, static_cast<double>(y) / h));
  const cv::Scalar floor_col(r.uniform(30, 110), r.uniform(40, 110), r.uniform(50, 120));
  cv::rectangle(frame, cv::Rect(0, floor_y, w, h - floor_y), floor_col, cv::FILLED);
  for (int x = -h; x < w; x += std::max(8, w / 14))
    cv::line(frame, {x, h}, {x + (h - floor_y) / 2, floor_y}, shade(floor_col, 0.8), std::max(1, h / 400), cv::LINE_AA);
  const int items = 6 + r.below(9);
  for (int i = 0; i < items; ++i) {
    const int kind = r.below(5);
    const int cx = r.below(w), cy = r.below(std::max(1, floor_y));
    const int iw = static_cast<int>(w * r.uniform(0.04, 0.18)), ih = static_cast<int>(h * r.uniform(0.06, 0.3));
    const cv::Scalar c(r.uniform(20, 235), r.uniform(20, 235), r.uniform(20, 235));
    const cv::Rect rect(cx - iw / 2, cy - ih / 2, std::max(2, iw), std::max(2, ih));
    switch (kind) {
      case 0:  // picture frame
        cv::rectangle(frame, rect, c, cv::FILLED, cv::LINE_AA);
        cv::rectangle(frame, rect, shade(c, 0.4), std::max(1, h / 150), cv::LINE_AA);
        cv::circle(frame, (rect.tl() + rect.br()) / 2, std::max(1, std::min(iw, ih) / 4), jitter(r, c, 80), cv::FILLED,
                   cv::LINE_AA);
        break;
      case 1:  // window
        cv::rectangle(frame, rect, cv::Scalar(235, 225, 200), cv::FILLED, cv::LINE_AA);
        cv::line(frame, {rect.x + rect.width / 2, rect.y}, {rect.x + rect.width / 2, rect.y + rect.height},
                 cv::Scalar(90, 90, 90), std::max(1, h / 200), cv::LINE_AA);
        cv::line(frame, {rect.x, rect.y + rect.height / 2}, {rect.x + rect.width, rect.y + rect.height / 2},
                 cv::Scalar(90, 90, 90), std::max(1, h / 200), cv::LINE_AA);
        break;
      case 2: {  // shelf with boxes
        const int sy = rect.y + rect.height;
        cv::rectangle(frame, cv::Rect(rect.x, sy, rect.width, std::max(2, h / 80)), shade(c, 0.6), cv::FILLED);
        for (int b = 0, x = rect.x; b < 5 && x < rect.x + rect.width; ++b) {
          const int bw = std::max(2, static_cast<int>(rect.width * r.uniform(0.08, 0.2)));
          const int bh = std::max(2, static_cast<int>(rect.height * r.uniform(0.3, 0.8)));
          cv::rectangle(frame, cv::Rect(x, sy - bh, bw, bh),
                        cv::Scalar(r.uniform(20, 235), r.uniform(20, 235), r.uniform(20, 235)), cv::FILLED);
          x += bw + std::max(1, bw / 4);
        }
        break;
      }
      case 3:  // lamp / clock
        cv::circle(frame, {cx, cy}, std::max(2, std::min(iw, ih) / 2), c, cv::FILLED, cv::LINE_AA);
        cv::circle(frame, {cx, cy}, std::max(2, std::min(iw, ih) / 2), shade(c, 0.5), std::max(1, h / 300),
                   cv::LINE_AA);
        break;
      default: {  // furniture block on the floor
        const cv::Rect f(cx - iw, floor_y - ih / 2, std::max(2, 2 * iw), std::max(2, ih / 2 + h / 20));
        cv::rectangle(frame, f, c, cv::FILLED, cv::LINE_AA);
        cv::rectangle(frame, cv::Rect(f.x, f.y, f.width, std::max(2, f.height / 5)), shade(c, 1.2), cv::FILLED);
      }
    }
  }
}

cv::Mat compose_scene(uint64_t scene_seed, int width, int height, const std::vector<FaceSpec>& faces,
                      std::vector<cv::Rect>* boxes) {
  if (width < 32 || height < 32)
    throw std::invalid_argument("draw_scene: frame " + std::to_string(width) + "x" + std::to_string(height) +
                                " is too small (min 32x32)");
  Rng r(scene_seed);
  cv::Mat frame(height, width, CV_8UC3);
  paint_clutter(frame, r);

  std::vector<cv::Rect> placed;
  const int min_side = std::max(16, height / 12);
  for (size_t f = 0; f < faces.size(); ++f) {
    double side = height * r.uniform(0.22, 0.4);
    bool ok = false;
    cv::Rect box;
    while (!ok && side >= min_side) {
      const int s = std::min({static_cast<int>(side), width, height});
      for (int attempt = 0; attempt < 200 && !ok; ++attempt) {
        box = cv::Rect(r.below(width - s + 1), r.below(height - s + 1), s, s);
        ok = std::none_of(placed.begin(), placed.end(), [&](const cv::Rect& o) { return (o & box).area() > 0; });
      }
      side *= 0.85;
    }
    if (!ok)
      throw std::invalid_argument("draw_scene: cannot place " + std::to_string(faces.size()) + " faces in a " +
                                  std::to_string(width) + "x" + std::to_string(height) + " frame");
    placed.push_back(box);

    cv::Mat tile = render_tile(faces[f].id, faces[f].var, box.width, false);
    apply_lighting(tile, faces[f].var);
    cv::Mat roi = frame(box);
    for (int y = 0; y < tile.rows; ++y) {
      const uchar* src = tile.ptr<uchar>(y);
      uchar* dst = roi.ptr<uchar>(y);
      for (int x = 0; x < tile.cols; ++x) {
        const int a = src[x * 4 + 3];
        for (int k = 0; k < 3; ++k)
          dst[x * 3 + k] = static_cast<uchar>((src[x * 4 + k] * a + dst[x * 3 + k] * (255 - a) + 127) / 255);
      }
    }
  }
  add_noise(frame, r.uniform(1.0, 4.0), r.next());
  if (boxes) *boxes = placed;
  return frame;
}

std::string numbered(const char* prefix, int i, int count, int min_digits) {
  int digits = 1;
  for (int c = std::max(count - 1, 0); c >= 10; c /= 10) ++digits;
  digits = std::max(digits, min_digits);
  std::string n = std::to_string(i);
  return prefix + std::string(static_cast<size_t>(std::max(0, digits - static_cast<int>(n.size()))), '0') + n;
}

}  // namespace

SynthIdentity make_identity(uint64_t seed, int index) {
  Rng r(stream(seed, 0x1D, static_cast<uint64_t>(index)));
  SynthIdentity id;
  id.face_w = r.uniform(0.24, 0.30);
  id.face_h = std::max(id.face_w * 1.08, r.uniform(0.30, 0.36));
  id.jaw = r.uniform(0.0, 1.0);
  id.eye_spacing = id.face_w * r.uniform(0.68, 0.88);
  id.eye_w = r.uniform(0.036, 0.054);
  id.eye_h = r.uniform(0.019, 0.03);
  id.eye_y = r.uniform(-0.07, -0.02);
  id.iris = r.uniform(0.55, 0.9);
  static const cv::Scalar irises[] = {{30, 55, 90}, {20, 35, 60}, {160, 120, 60}, {90, 130, 60}, {120, 120, 110}};
  id.iris_colour = jitter(r, irises[r.below(5)], 15);
  id.brow_thickness = r.uniform(0.008, 0.02);
  id.brow_lift = r.uniform(0.035, 0.06);
  id.brow_tilt = r.uniform(-12, 12);
  id.nose_len = r.uniform(0.07, 0.12);
  id.nose_w = r.uniform(0.03, 0.055);
  id.mouth_w = r.uniform(0.06, 0.11);
  id.mouth_h = r.uniform(0.012, 0.03);
  id.mouth_curve = r.uniform(-0.006, 0.025);
  id.mouth_y = std::min(id.eye_y + id.nose_len + r.uniform(0.05, 0.08), id.face_h * 0.7);
  const double tone = r.uniform();
  id.skin = jitter(r, lerp(cv::Scalar(195, 212, 245), cv::Scalar(55, 80, 125), tone), 10);
  id.lip = cv::Scalar(id.skin[0] * 0.72, id.skin[1] * 0.62, std::min(255.0, id.skin[2] * 0.92 + 15));
  static const cv::Scalar hairs[] = {{25, 25, 30},   {30, 45, 70},  {40, 70, 110},
                                     {90, 165, 210}, {35, 70, 165}, {165, 168, 170}};
  id.hair = jitter(r, hairs[r.below(6)], 12);
  id.hair_style = r.below(6);
  id.hairline = r.uniform(0.45, 0.65);
  id.glasses = r.chance(0.25);
  id.beard = r.chance(0.2);
  id.ear_size = r.uniform(0.04, 0.06);
  return id;
}

SynthVariation make_variation(uint64_t seed, int identity, int image, double amount) {
  if (!(amount >= 0 && amount <= 1))
    throw std::invalid_argument("make_variation: amount must be in [0, 1], got " + std::to_string(amount));
  Rng r(stream(seed, 0x7A, static_cast<uint64_t>(identity), static_cast<uint64_t>(image)));
  SynthVariation v;
  // The same draws for every amount: a smaller amount is the same photo, less perturbed.
  v.shift_x = amount * r.uniform(-0.08, 0.08);
  v.shift_y = amount * r.uniform(-0.08, 0.08);
  v.rotation_deg = amount * r.uniform(-12, 12);
  v.scale = 1 + amount * r.uniform(-0.1, 0.1);
  v.light_angle = r.uniform(0, 2 * kPi);
  v.light_strength = amount * r.uniform(0, 0.3);
  v.brightness = amount * r.uniform(-15, 15);
  v.noise_sigma = r.uniform(1, 6);
  v.mouth_curve_delta = amount * r.uniform(-0.012, 0.012);
  const bool blink = r.chance(0.12);
  const double open = blink ? r.uniform(0.1, 0.5) : r.uniform(0.75, 1.1);
  v.eye_open = 1 + amount * (open - 1);
  // Backdrops vary between photos, but within a band of mid-to-light tones: pixel-space
  // distances are already dominated by framing (shift, rotation, scale), as with real crops.
  const double g = r.uniform(120, 210);
  v.background = jitter(r, cv::Scalar(g, g, g), 15);
  v.clothes = cv::Scalar(r.uniform(20, 230), r.uniform(20, 230), r.uniform(20, 230));
  v.noise_seed = r.next();
  return v;
}

cv::Mat draw_face(const SynthIdentity& id, const SynthVariation& var, int size) {
  if (size < 16) throw std::invalid_argument("draw_face: size " + std::to_string(size) + " < 16");
  cv::Mat tile = render_tile(id, var, size, true);
  apply_lighting(tile, var);
  cv::Mat bgr;
  cv::cvtColor(tile, bgr, cv::COLOR_BGRA2BGR);
  add_noise(bgr, var.noise_sigma, var.noise_seed);
  return bgr;
}

cv::Mat draw_scene(uint64_t seed, int width, int height, int faces, std::vector<cv::Rect>* boxes) {
  if (faces < 0) throw std::invalid_argument("draw_scene: negative face count");
  std::vector<FaceSpec> specs;
  for (int i = 0; i < faces; ++i) {
    FaceSpec f{make_identity(seed, i), make_variation(seed, i, 0)};
    f.var.shift_x = f.var.shift_y = 0;  // keep the face centred in its box
    specs.push_back(f);
  }
  return compose_scene(stream(seed, 0x5C, 0), width, height, specs, boxes);
}

SynthSummary write_synthetic_set(const std::filesystem::path& out, const SynthOptions& opt, int threads) {
  if (opt.identities <= 0 || opt.per <= 0)
    throw std::invalid_argument("write_synthetic_set: identities and per must be positive");
  if (!(opt.variation >= 0 && opt.variation <= 1))
    throw std::invalid_argument("write_synthetic_set: variation must be in [0, 1]");
  if (opt.jpeg_quality < 0 || opt.jpeg_quality > 100)
    throw std::invalid_argument("write_synthetic_set: jpeg_quality must be in [0, 100]");
  if (opt.size < (opt.scenes ? 64 : 16))
    throw std::invalid_argument("write_synthetic_set: size " + std::to_string(opt.size) + " is too small (min " +
                                (opt.scenes ? "64 with scenes" : "16") + ")");

  SynthSummary sum;
  std::vector<std::filesystem::path> dirs;
  for (int p = 0; p < opt.identities; ++p) {
    sum.labels.push_back(numbered("person_", p, opt.identities, 2));
    dirs.push_back(out / sum.labels.back());
    std::error_code ec;
    std::filesystem::create_directories(dirs.back(), ec);
    if (ec)
      throw std::runtime_error("write_synthetic_set: cannot create " + dirs.back().string() + ": " + ec.message());
  }
  std::vector<SynthIdentity> ids;
  for (int p = 0; p < opt.identities; ++p) ids.push_back(make_identity(opt.seed, p));

  const std::ptrdiff_t total = static_cast<std::ptrdiff_t>(opt.identities) * opt.per;
  parallel_for(total, threads, [&](std::ptrdiff_t f) {
    const int p = static_cast<int>(f / opt.per), m = static_cast<int>(f % opt.per);
    cv::Mat img;
    if (opt.scenes) {
      Rng r(stream(opt.seed, 0x5D, static_cast<uint64_t>(p), static_cast<uint64_t>(m)));
      std::vector<FaceSpec> faces{{ids[static_cast<size_t>(p)], make_variation(opt.seed, p, m, opt.variation)}};
      faces[0].var.shift_x = faces[0].var.shift_y = 0;
      const int others = opt.identities > 1 ? r.below(3) : 0;
      for (int o = 0; o < others; ++o) {
        const int q = (p + 1 + r.below(opt.identities - 1)) % opt.identities;
        FaceSpec s{ids[static_cast<size_t>(q)], make_variation(opt.seed, q, opt.per + m * 3 + o, opt.variation)};
        s.var.shift_x = s.var.shift_y = 0;
        faces.push_back(s);
      }
      img = compose_scene(r.next(), opt.size, opt.size * 9 / 16, faces, nullptr);
    } else {
      img = draw_face(ids[static_cast<size_t>(p)], make_variation(opt.seed, p, m, opt.variation), opt.size);
    }
    const bool jpeg = m % 2 == 0;
    const std::filesystem::path path =
        dirs[static_cast<size_t>(p)] / (numbered("img_", m, opt.per, 3) + (jpeg ? ".jpg" : ".png"));
    std::vector<uchar> bytes;
    const std::vector<int> params = jpeg ? std::vector<int>{cv::IMWRITE_JPEG_QUALITY, opt.jpeg_quality}
                                         : std::vector<int>{cv::IMWRITE_PNG_COMPRESSION, 3};
    if (!cv::imencode(jpeg ? ".jpg" : ".png", img, bytes, params))
      throw std::runtime_error("write_synthetic_set: cannot encode " + path.string());
    write_file_atomic(path, bytes.data(), bytes.size());
  });
  sum.files = static_cast<int>(total);
  return sum;
}

}  // namespace lumaflow
