// Chart colours: the palette, label colours, region tints and marker shapes (see chart.hpp).
#include "nodes/chart/chart_internal.hpp"

namespace lumaflow::chart_detail {

double srgb_to_linear(double c) {
  c /= 255.0;
  return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
}

Lab rgb_to_lab(double r8, double g8, double b8) {
  const double r = srgb_to_linear(r8), g = srgb_to_linear(g8), b = srgb_to_linear(b8);
  const double x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
  const double y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  const double z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
  auto f = [](double t) {
    constexpr double d = 6.0 / 29.0;
    return t > d * d * d ? std::cbrt(t) : t / (3 * d * d) + 4.0 / 29.0;
  };
  const double fx = f(x), fy = f(y), fz = f(z);
  return {116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)};
}

double lab_dist2(const Lab& p, const Lab& q) {
  return (p.l - q.l) * (p.l - q.l) + (p.a - q.a) * (p.a - q.a) + (p.b - q.b) * (p.b - q.b);
}

cv::Scalar mix(const cv::Scalar& a, const cv::Scalar& b, double t) {  // (1-t)·a + t·b
  return cv::Scalar(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t);
}

cv::Scalar darker(const cv::Scalar& c, double f) { return cv::Scalar(c[0] * f, c[1] * f, c[2] * f); }

const std::vector<cv::Scalar>& base_palette() {
  static const std::vector<cv::Scalar> p = palette(kPaletteSize);  // immutable once built
  return p;
}

}  // namespace lumaflow::chart_detail

namespace lumaflow {

using namespace chart_detail;

std::vector<cv::Scalar> palette(int n) {
  std::vector<cv::Scalar> out;
  if (n <= 0) return out;
  // matplotlib tab10 minus grey (grey means "unlabelled" here), as RGB.
  static constexpr std::array<std::array<int, 3>, 9> kSeed = {{{31, 119, 180},
                                                               {255, 127, 14},
                                                               {44, 160, 44},
                                                               {214, 39, 40},
                                                               {148, 103, 189},
                                                               {140, 86, 75},
                                                               {227, 119, 194},
                                                               {188, 189, 34},
                                                               {23, 190, 207}}};
  std::vector<Lab> chosen;
  for (const auto& c : kSeed) {
    if (static_cast<int>(out.size()) == n) return out;
    out.emplace_back(c[2], c[1], c[0]);
    chosen.push_back(rgb_to_lab(c[0], c[1], c[2]));
  }
  // Candidates: an sRGB lattice restricted to mid lightness (visible on white, distinct from
  // black text) and clear chroma (greys are reserved).
  std::vector<std::array<int, 3>> cand_rgb;
  std::vector<Lab> cand;
  for (int r = 0; r <= 255; r += 15)
    for (int g = 0; g <= 255; g += 15)
      for (int b = 0; b <= 255; b += 15) {
        const Lab lab = rgb_to_lab(r, g, b);
        if (lab.l < 35 || lab.l > 80 || std::hypot(lab.a, lab.b) < 35) continue;
        cand_rgb.push_back({r, g, b});
        cand.push_back(lab);
      }
  std::vector<double> nearest(cand.size(), std::numeric_limits<double>::infinity());
  for (size_t c = 0; c < cand.size(); ++c)
    for (const Lab& s : chosen) nearest[c] = std::min(nearest[c], lab_dist2(cand[c], s));
  // Farthest-point additions; past the lattice size the sequence repeats.
  while (static_cast<int>(out.size()) < n) {
    size_t best = 0;
    for (size_t c = 1; c < cand.size(); ++c)
      if (nearest[c] > nearest[best]) best = c;
    if (nearest[best] <= 0) {
      const size_t m = out.size();
      for (size_t i = 0; static_cast<int>(out.size()) < n; ++i) out.push_back(out[i % m]);
      break;
    }
    out.emplace_back(cand_rgb[best][2], cand_rgb[best][1], cand_rgb[best][0]);
    for (size_t c = 0; c < cand.size(); ++c) nearest[c] = std::min(nearest[c], lab_dist2(cand[c], cand[best]));
  }
  return out;
}

cv::Scalar label_colour(int label) {
  if (label < 0) return kUnlabelled;
  return base_palette()[static_cast<size_t>(label % kPaletteSize)];
}

cv::Scalar region_colour(int label) {
  if (label < 0) return kWhite;
  return mix(kWhite, label_colour(label), 0.3);
}

int label_marker(int label) { return label < 0 ? 0 : (label / kPaletteSize) % kMarkerShapes; }

std::string label_name(int label, const std::vector<std::string>& names) {
  if (label < 0) return "unlabelled";
  if (static_cast<size_t>(label) < names.size() && !names[static_cast<size_t>(label)].empty())
    return names[static_cast<size_t>(label)];
  return "label " + std::to_string(label);
}

}  // namespace lumaflow
