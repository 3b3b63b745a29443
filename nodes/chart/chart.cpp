#include "nodes/chart/chart.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <stdexcept>

#include "nodes/core/atomic_file.hpp"

namespace lumaflow {
namespace {

constexpr int kPaletteSize = 40;
constexpr int kMarkerShapes = 5;
constexpr int kShift = 4;  // sub-pixel bits for OpenCV drawing
constexpr double kSub = 1 << kShift;
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

const cv::Scalar kWhite(255, 255, 255);
const cv::Scalar kInk(38, 38, 38);  // text, frame, ticks
const cv::Scalar kGridColour(232, 232, 232);
const cv::Scalar kUnlabelled(170, 170, 170);
const cv::Scalar kLegendFrame(204, 204, 204);

// ---------------------------------------------------------------- colour ------

struct Lab {
  double l, a, b;
};

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

cv::Scalar darker(const cv::Scalar& c, double f = 0.62) { return cv::Scalar(c[0] * f, c[1] * f, c[2] * f); }

const std::vector<cv::Scalar>& base_palette() {
  static const std::vector<cv::Scalar> p = palette(kPaletteSize);  // immutable once built
  return p;
}

// ------------------------------------------------------------------ text ------

// Hershey fonts have ASCII glyphs only: Latin-1 letters lose their accents (é → e, ß → ss),
// any other UTF-8 sequence becomes one '?', control characters become spaces.
std::string ascii(const std::string& s) {
  // U+00C0 .. U+00FF; '*' marks characters spelled out below.
  static constexpr char kLatin1[] = "AAAAAA*CEEEEIIIIDNOOOOOxOUUUUY**aaaaaa*ceeeeiiiidnooooo/ouuuuy*y";
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out.push_back(c < 0x20 || c == 0x7F ? ' ' : static_cast<char>(c));
      ++i;
      continue;
    }
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    len = std::min(len, s.size() - i);
    if (len == 2 && (c == 0xC3) && (static_cast<unsigned char>(s[i + 1]) & 0xC0) == 0x80) {
      const int cp = 0xC0 + (static_cast<unsigned char>(s[i + 1]) & 0x3F);
      const char t = kLatin1[cp - 0xC0];
      if (t != '*') {
        out.push_back(t);
      } else {
        switch (cp) {
          case 0xC6: out += "AE"; break;
          case 0xDE: out += "Th"; break;
          case 0xDF: out += "ss"; break;
          case 0xE6: out += "ae"; break;
          case 0xFE: out += "th"; break;
          default: out.push_back('?'); break;
        }
      }
    } else {
      out.push_back('?');
    }
    i += len;
  }
  return out;
}

struct Font {
  double scale;
  int thickness;
};

struct Fonts {
  Font title, label, tick, legend;
  explicit Fonts(double k)
      : title{0.82 * k, std::max(1, static_cast<int>(std::lround(2 * k)))},
        label{0.62 * k, std::max(1, static_cast<int>(std::lround(1.1 * k)))},
        tick{0.52 * k, std::max(1, static_cast<int>(std::lround(0.9 * k)))},
        legend{0.52 * k, std::max(1, static_cast<int>(std::lround(0.9 * k)))} {}
};

cv::Size text_size(const std::string& s, const Font& f, int* baseline = nullptr) {
  int b = 0;
  const cv::Size sz = cv::getTextSize(s, kFont, f.scale, f.thickness, &b);
  if (baseline) *baseline = b;
  return sz;
}

int cap_height(const Font& f) { return text_size("0", f).height; }

// halign: -1 left, 0 centre, 1 right of anchor.x; valign: -1 top, 0 middle (of the cap height),
// 1 baseline at anchor.y.
void draw_text(cv::Mat& img, const std::string& s, cv::Point anchor, const Font& f, const cv::Scalar& colour,
               int halign, int valign) {
  if (s.empty()) return;
  const cv::Size sz = text_size(s, f);
  int x = anchor.x, y = anchor.y;
  if (halign == 0) x -= sz.width / 2;
  if (halign > 0) x -= sz.width;
  if (valign < 0) y += sz.height;
  if (valign == 0) y += sz.height / 2;
  cv::putText(img, s, {x, y}, kFont, f.scale, colour, f.thickness, cv::LINE_AA);
}

// Text reading bottom to top, centred on `centre`. Composited with min() so dark text survives
// on any lighter background.
void draw_text_vertical(cv::Mat& img, const std::string& s, cv::Point centre, const Font& f, const cv::Scalar& colour) {
  if (s.empty()) return;
  int base = 0;
  const cv::Size sz = text_size(s, f, &base);
  const int pad = 2 + f.thickness;
  cv::Mat tile(sz.height + base + 2 * pad, sz.width + 2 * pad, CV_8UC3, kWhite);
  cv::putText(tile, s, {pad, pad + sz.height}, kFont, f.scale, colour, f.thickness, cv::LINE_AA);
  cv::Mat rotated;
  cv::rotate(tile, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
  cv::Rect dst(centre.x - rotated.cols / 2, centre.y - rotated.rows / 2, rotated.cols, rotated.rows);
  const cv::Rect clipped = dst & cv::Rect(0, 0, img.cols, img.rows);
  if (clipped.empty()) return;
  cv::Mat src = rotated(cv::Rect(clipped.x - dst.x, clipped.y - dst.y, clipped.width, clipped.height));
  cv::Mat target = img(clipped);
  cv::min(target, src, target);
}

std::string fit_text(const std::string& s, const Font& f, int max_width) {
  if (text_size(s, f).width <= max_width) return s;
  std::string t = s;
  while (!t.empty()) {
    t.pop_back();
    while (!t.empty() && t.back() == ' ') t.pop_back();
    if (text_size(t + "...", f).width <= max_width) return t + "...";
  }
  return "";
}

// ----------------------------------------------------------------- ticks ------

struct TickSet {
  std::vector<double> ticks;
  int decimals = 0;
  bool general = false;  // use %g (huge or tiny magnitudes)
};

TickSet make_ticks(double lo, double hi, int max_ticks) {
  TickSet t;
  if (!std::isfinite(lo) || !std::isfinite(hi)) return t;
  if (lo > hi) std::swap(lo, hi);
  const double range = hi - lo;
  if (!(range > 0)) {
    t.ticks = {lo};
    return t;
  }
  max_ticks = std::max(2, max_ticks);
  const double raw = range / max_ticks;
  int e = static_cast<int>(std::floor(std::log10(raw)));
  static constexpr std::array<double, 4> kMults = {1, 2, 2.5, 5};
  for (int guard = 0; guard < 40; ++guard, ++e) {
    for (double m : kMults) {
      const double step = m * std::pow(10.0, e);
      const double first = std::ceil(lo / step - 1e-9);
      const double last = std::floor(hi / step + 1e-9);
      if (last - first + 1 > max_ticks) continue;
      for (double q = first; q <= last; q += 1) {
        double v = q * step;
        if (std::fabs(v) < step * 1e-9) v = 0;
        t.ticks.push_back(v);
      }
      t.decimals = std::max(0, -e) + (m == 2.5 ? 1 : 0);
      double mag = 0;
      for (double v : t.ticks) mag = std::max(mag, std::fabs(v));
      t.general = mag >= 1e6 || t.decimals > 6;
      return t;
    }
  }
  return t;
}

std::string format_tick(double v, const TickSet& t) {
  char buf[64];
  if (v == 0) v = 0;  // no "-0"
  if (t.general)
    std::snprintf(buf, sizeof buf, "%.4g", v);
  else
    std::snprintf(buf, sizeof buf, "%.*f", t.decimals, v);
  return buf;
}

std::vector<std::string> tick_labels(const TickSet& t) {
  std::vector<std::string> out;
  for (double v : t.ticks) out.push_back(format_tick(v, t));
  return out;
}

int widest(const std::vector<std::string>& labels, const Font& f) {
  int w = 0;
  for (const auto& s : labels) w = std::max(w, text_size(s, f).width);
  return w;
}

// ------------------------------------------------------------ geometry ------

double scale_of(const ChartOptions& o) { return std::clamp(std::min(o.width / 1400.0, o.height / 1000.0), 0.7, 4.0); }

int px(double v) { return static_cast<int>(std::lround(v)); }

void validate(const ChartOptions& o) {
  if (o.width < 320 || o.height < 240 || o.width > 20000 || o.height > 20000)
    throw std::invalid_argument("chart: width/height must be within 320×240 .. 20000×20000, got " +
                                std::to_string(o.width) + "×" + std::to_string(o.height));
  if (o.marker_radius < 1 || o.marker_radius > 200)
    throw std::invalid_argument("chart: marker_radius must be in [1, 200]");
  if (!(o.padding >= 0.f && o.padding <= 1.f)) throw std::invalid_argument("chart: padding must be in [0, 1]");
}

// Legend metrics for a font: the symbol slot holds a marker (and a line in line charts).
struct LegendMetrics {
  Font font;
  int text_h, row_h, symbol_w, gap, column_gap, pad;
};

LegendMetrics legend_metrics(const Font& f, double k) {
  LegendMetrics m{f, 0, 0, 0, 0, 0, 0};
  m.text_h = cap_height(f);
  m.row_h = px(m.text_h * 1.7);
  m.symbol_w = px(m.text_h * 2.6);
  m.gap = px(m.text_h * 0.6);
  m.column_gap = px(m.text_h * 1.2);
  m.pad = px(8 * k);
  return m;
}

int max_legend_text_width(const LegendMetrics& m, double k) { return px(210 * k * m.font.scale / (0.52 * k)); }

struct LegendFit {
  LegendMetrics m;
  int columns = 0, rows = 0, shown = 0, column_w = 0, width = 0, height = 0;
};

LegendFit fit_legend(const std::vector<std::string>& texts, double k, int max_width, int max_height) {
  LegendFit best;
  const int n = static_cast<int>(texts.size());
  if (n == 0) return best;
  const Fonts fonts(k);
  std::vector<std::string> clean;
  for (const auto& s : texts) clean.push_back(ascii(s));
  // Shrink in steps until everything fits: first truncate long names harder, then use a
  // smaller font; at the smallest font show what fits and "+K more".
  bool done = false;
  for (int attempt = 0; !done; ++attempt) {
    Font f = fonts.legend;
    f.scale *= std::pow(0.88, attempt);
    const bool last_font = f.scale * 0.88 < std::max(0.3, 0.33 * k);
    for (double cap_frac : {1.0, 0.7, 0.5}) {
      LegendFit fit;
      fit.m = legend_metrics(f, k);
      const int cap = px(max_legend_text_width(fit.m, k) * cap_frac);
      int text_w = 0;
      for (const auto& s : clean) text_w = std::max(text_w, std::min(cap, text_size(s, f).width));
      fit.column_w = fit.m.symbol_w + fit.m.gap + text_w + fit.m.column_gap;
      const int max_rows = std::max(1, (max_height - 2 * fit.m.pad) / fit.m.row_h);
      fit.columns = (n + max_rows - 1) / max_rows;
      fit.rows = (n + fit.columns - 1) / fit.columns;
      fit.shown = n;
      fit.width = 2 * fit.m.pad + fit.columns * fit.column_w - fit.m.column_gap;
      if (fit.width <= max_width) {
        best = fit;
        done = true;
        break;
      }
      if (last_font && cap_frac == 0.5) {  // too many entries for the space
        fit.columns = std::max(1, (max_width - 2 * fit.m.pad + fit.m.column_gap) / fit.column_w);
        fit.rows = std::min(max_rows, n);
        const int slots = fit.columns * fit.rows;
        fit.shown = slots >= n ? n : std::max(0, slots - 1);
        fit.width = std::min(max_width, 2 * fit.m.pad + fit.columns * fit.column_w - fit.m.column_gap);
        best = fit;
        done = true;
      }
    }
  }
  const int slots = best.shown < n ? best.shown + 1 : n;
  best.rows = std::min(best.rows, (slots + best.columns - 1) / best.columns);
  best.height = 2 * best.m.pad + best.rows * best.m.row_h;
  return best;
}

ChartLayout layout_once(const LayoutInput& in, const ChartOptions& o) {
  const double k = scale_of(o);
  const Fonts fonts(k);
  ChartLayout L;
  L.image = {o.width, o.height};
  L.scale = k;
  L.limits = in.limits;
  const int W = o.width, H = o.height;
  const int margin = px(16 * k), tick_len = px(5 * k), gap = px(7 * k);
  const int tick_h = cap_height(fonts.tick), label_h = cap_height(fonts.label);
  int tick_base = 0;
  text_size("0", fonts.tick, &tick_base);

  const int top = margin + (ascii(o.title).empty() ? px(6 * k) : cap_height(fonts.title) + px(18 * k));
  const int bottom =
      margin + tick_len + gap + tick_h + tick_base + (ascii(o.x_label).empty() ? 0 : gap + label_h + px(6 * k));
  const int plot_h = std::max(20, H - top - bottom);

  const int max_y_ticks = std::clamp(plot_h / px(85 * k), 3, 12);
  const TickSet yt = make_ticks(in.limits.y_min, in.limits.y_max, max_y_ticks);
  const int left = margin + (ascii(o.y_label).empty() ? 0 : label_h + px(4 * k) + 2 * gap) +
                   widest(tick_labels(yt), fonts.tick) + gap + tick_len;

  int right_w = 0;
  TickSet y2t;
  if (in.right_axis) {
    y2t = make_ticks(in.y2_min, in.y2_max, max_y_ticks);
    right_w = tick_len + gap + widest(tick_labels(y2t), fonts.tick) +
              (ascii(in.right_label).empty() ? 0 : 2 * gap + label_h + px(4 * k));
  }

  const int min_plot_w = W / 4;
  const int legend_gap = in.legend.empty() ? 0 : px(22 * k);
  const int legend_room = std::min(px(0.45 * W), W - left - right_w - margin - legend_gap - min_plot_w);
  const LegendFit lf = fit_legend(in.legend, k, std::max(0, legend_room), plot_h);
  const int legend_w = in.legend.empty() ? 0 : lf.width;

  int plot_w = W - left - right_w - margin - legend_gap - legend_w;
  TickSet xt;
  for (int pass = 0; pass < 2; ++pass) {
    xt = make_ticks(in.limits.x_min, in.limits.x_max, std::clamp(plot_w / px(130 * k), 3, 12));
    if (xt.ticks.empty()) break;
    // The last tick label is centred on its tick and may stick out past the frame.
    const double frac = (xt.ticks.back() - in.limits.x_min) / (in.limits.x_max - in.limits.x_min);
    const int tick_px = px(frac * (plot_w - 1));
    const int half = text_size(format_tick(xt.ticks.back(), xt), fonts.tick).width / 2 + 2;
    const int room = (plot_w - 1 - tick_px) + right_w + (in.legend.empty() ? margin : legend_gap);
    if (half <= room) break;
    plot_w -= half - room;
  }
  plot_w = std::max(20, plot_w);

  L.plot = cv::Rect(left, top, plot_w, plot_h);
  L.x_ticks = xt.ticks;
  L.y_ticks = yt.ticks;
  L.right_axis = in.right_axis;
  L.y2_min = in.y2_min;
  L.y2_max = in.y2_max;
  L.y2_ticks = y2t.ticks;
  if (!in.legend.empty()) {
    L.legend = cv::Rect(L.plot.x + L.plot.width + right_w + legend_gap, top, lf.width, lf.height);
    L.legend_columns = lf.columns;
    L.legend_rows = lf.rows;
    L.legend_shown = lf.shown;
    L.legend_column_width = lf.column_w;
    L.legend_row_height = lf.m.row_h;
    L.legend_padding = lf.m.pad;
    L.legend_font_scale = lf.m.font.scale;
  }
  return L;
}

// ------------------------------------------------------------- markers ------

struct Style {
  cv::Scalar fill, edge;
  int shape = 0;
};

Style label_style(int label) {
  Style s;
  s.fill = label_colour(label);
  s.edge = darker(s.fill);
  s.shape = label < 0 ? 0 : label_marker(label);
  return s;
}

cv::Point sub(double x, double y) { return {px(x * kSub), px(y * kSub)}; }

// Marker of "radius" r centred at c (coordinates of img), shapes of roughly equal area.
void draw_marker(cv::Mat& img, cv::Point2d c, double r, int shape, const cv::Scalar& fill, const cv::Scalar& edge) {
  if (shape == 0) {
    cv::circle(img, sub(c.x, c.y), px(r * kSub), fill, cv::FILLED, cv::LINE_AA, kShift);
    cv::circle(img, sub(c.x, c.y), px(r * kSub), edge, 1, cv::LINE_AA, kShift);
    return;
  }
  std::vector<cv::Point> poly;
  auto add = [&](double dx, double dy) { poly.push_back(sub(c.x + dx, c.y + dy)); };
  switch (shape) {
    case 1: {
      const double h = r * 0.886;
      add(-h, -h), add(h, -h), add(h, h), add(-h, h);
      break;
    }
    case 2:
    case 4: {
      const double R = r * 1.3, s = shape == 2 ? 1 : -1;
      add(0, -s * R), add(R * 0.866, s * R * 0.5), add(-R * 0.866, s * R * 0.5);
      break;
    }
    default: {
      const double d = r * 1.25;
      add(0, -d), add(d * 0.8, 0), add(0, d), add(-d * 0.8, 0);
      break;
    }
  }
  const cv::Point* pts = poly.data();
  const int npts = static_cast<int>(poly.size());
  cv::fillPoly(img, &pts, &npts, 1, fill, cv::LINE_AA, kShift);
  cv::polylines(img, &pts, &npts, 1, true, edge, 1, cv::LINE_AA, kShift);
}

void draw_line(cv::Mat& img, cv::Point2d a, cv::Point2d b, const cv::Scalar& c, int thickness) {
  cv::line(img, sub(a.x, a.y), sub(b.x, b.y), c, thickness, cv::LINE_AA, kShift);
}

void draw_dashed(cv::Mat& img, cv::Point2d a, cv::Point2d b, const cv::Scalar& c, int thickness, double dash,
                 double space) {
  const double len = std::hypot(b.x - a.x, b.y - a.y);
  if (len <= 0) return;
  const cv::Point2d u((b.x - a.x) / len, (b.y - a.y) / len);
  for (double t = 0; t < len; t += dash + space) {
    const double e = std::min(len, t + dash);
    draw_line(img, a + u * t, a + u * e, c, thickness);
  }
}

// -------------------------------------------------------------- axes ------

void draw_grid(cv::Mat& img, const ChartLayout& L) {
  const cv::Rect& p = L.plot;
  for (double t : L.x_ticks) {
    const int x = px(L.to_pixel(t, 0).x);
    if (x > p.x && x < p.x + p.width - 1) cv::line(img, {x, p.y + 1}, {x, p.y + p.height - 2}, kGridColour, 1);
  }
  for (double t : L.y_ticks) {
    const int y = px(L.to_pixel(0, t).y);
    if (y > p.y && y < p.y + p.height - 1) cv::line(img, {p.x + 1, y}, {p.x + p.width - 2, y}, kGridColour, 1);
  }
}

void draw_axes(cv::Mat& img, const ChartLayout& L, const ChartOptions& o, const std::string& right_label) {
  const double k = L.scale;
  const Fonts fonts(k);
  const cv::Rect& p = L.plot;
  const int tick_len = px(5 * k), gap = px(7 * k);
  const int lw = std::max(1, px(k));
  const int x0 = p.x, x1 = p.x + p.width - 1, y0 = p.y, y1 = p.y + p.height - 1;
  cv::rectangle(img, {x0, y0}, {x1, y1}, kInk, lw, cv::LINE_8);

  const TickSet xt = make_ticks(L.limits.x_min, L.limits.x_max, std::max<int>(2, static_cast<int>(L.x_ticks.size())));
  for (double t : L.x_ticks) {
    const int x = px(L.to_pixel(t, 0).x);
    cv::line(img, {x, y1}, {x, y1 + tick_len}, kInk, lw);
    draw_text(img, format_tick(t, xt), {x, y1 + tick_len + gap}, fonts.tick, kInk, 0, -1);
  }
  const TickSet yt = make_ticks(L.limits.y_min, L.limits.y_max, std::max<int>(2, static_cast<int>(L.y_ticks.size())));
  int ytw = 0;
  for (double t : L.y_ticks) {
    const int y = px(L.to_pixel(0, t).y);
    cv::line(img, {x0 - tick_len, y}, {x0, y}, kInk, lw);
    const std::string s = format_tick(t, yt);
    ytw = std::max(ytw, text_size(s, fonts.tick).width);
    draw_text(img, s, {x0 - tick_len - gap, y}, fonts.tick, kInk, 1, 0);
  }
  if (L.right_axis) {
    const TickSet rt = make_ticks(L.y2_min, L.y2_max, std::max<int>(2, static_cast<int>(L.y2_ticks.size())));
    int rtw = 0;
    for (double t : L.y2_ticks) {
      const int y = px(L.to_pixel_right(0, t).y);
      cv::line(img, {x1, y}, {x1 + tick_len, y}, kInk, lw);
      const std::string s = format_tick(t, rt);
      rtw = std::max(rtw, text_size(s, fonts.tick).width);
      draw_text(img, s, {x1 + tick_len + gap, y}, fonts.tick, kInk, -1, 0);
    }
    const int lh = cap_height(fonts.label);
    draw_text_vertical(img, fit_text(ascii(right_label), fonts.label, p.height),
                       {x1 + tick_len + gap + rtw + 2 * gap + lh / 2, p.y + p.height / 2}, fonts.label, kInk);
  }

  int tick_base = 0;
  const int tick_h = text_size("0", fonts.tick, &tick_base).height;
  // Labels and title longer than their room are shortened with "..." rather than clipped.
  const std::string xl = fit_text(ascii(o.x_label), fonts.label, L.image.width - 2 * gap);
  const int xlw = text_size(xl, fonts.label).width;
  draw_text(img, xl,
            {std::clamp(p.x + p.width / 2, xlw / 2 + gap, std::max(xlw / 2 + gap, L.image.width - xlw / 2 - gap)),
             y1 + tick_len + gap + tick_h + tick_base + gap},
            fonts.label, kInk, 0, -1);
  const int lh = cap_height(fonts.label);
  draw_text_vertical(img, fit_text(ascii(o.y_label), fonts.label, p.height),
                     {x0 - tick_len - gap - ytw - 2 * gap - lh / 2, p.y + p.height / 2}, fonts.label, kInk);
  const std::string title = fit_text(ascii(o.title), fonts.title, L.image.width - 2 * gap);
  if (!title.empty()) {
    // Centred over the axes as matplotlib does, but kept inside the image.
    const int tw = text_size(title, fonts.title).width;
    int cx = p.x + p.width / 2;
    cx = std::clamp(cx, tw / 2 + gap, std::max(tw / 2 + gap, L.image.width - tw / 2 - gap));
    draw_text(img, title, {cx, p.y - px(14 * k)}, fonts.title, kInk, 0, 1);
  }
}

struct LegendEntry {
  std::string text;
  cv::Scalar fill, edge;
  int shape = 0;
  bool line = false;  // line-chart entry: a short line through the marker
};

void draw_legend(cv::Mat& img, const ChartLayout& L, const std::vector<LegendEntry>& entries) {
  if (entries.empty() || L.legend.area() == 0) return;
  const double k = L.scale;
  const Font f{L.legend_font_scale, std::max(1, px(0.9 * k))};
  const LegendMetrics m = legend_metrics(f, k);
  const cv::Rect& r = L.legend;
  cv::rectangle(img, r.tl(), r.br() - cv::Point(1, 1), kLegendFrame, 1, cv::LINE_8);
  const int n = static_cast<int>(entries.size());
  const int text_w = L.legend_column_width - m.symbol_w - m.gap - m.column_gap;
  const double mr = std::max(2.5, m.text_h * 0.45);
  const int slots = L.legend_shown < n ? L.legend_shown + 1 : n;
  for (int s = 0; s < slots; ++s) {
    const int col = s / L.legend_rows, row = s % L.legend_rows;
    const int x = r.x + m.pad + col * L.legend_column_width;
    const int cy = r.y + m.pad + row * m.row_h + m.row_h / 2;
    if (s == L.legend_shown) {
      draw_text(img, "+" + std::to_string(n - L.legend_shown) + " more", {x, cy}, f, kInk, -1, 0);
      break;
    }
    const LegendEntry& e = entries[static_cast<size_t>(s)];
    const double sx = x + m.symbol_w / 2.0;
    if (e.line)
      draw_line(img, {static_cast<double>(x), static_cast<double>(cy)},
                {static_cast<double>(x + m.symbol_w), static_cast<double>(cy)}, e.fill, std::max(1, px(2 * k)));
    draw_marker(img, {sx, static_cast<double>(cy)}, mr, e.shape, e.fill, e.edge);
    draw_text(img, fit_text(ascii(e.text), f, text_w), {x + m.symbol_w + m.gap, cy}, f, kInk, -1, 0);
  }
}

// -------------------------------------------------------- scatter data ------

void check_xy(MatrixRefF xy, const Labels& labels) {
  if (xy.rows() > 0 && xy.cols() != 2)
    throw std::invalid_argument("chart: xy must have 2 columns, got " + std::to_string(xy.cols()));
  if (!labels.empty() && labels.size() != static_cast<size_t>(xy.rows()))
    throw std::invalid_argument("chart: " + std::to_string(labels.size()) + " labels for " + std::to_string(xy.rows()) +
                                " points");
}

int label_at(const Labels& labels, Eigen::Index i) {
  if (labels.empty()) return -1;
  const int l = labels[static_cast<size_t>(i)];
  return l < 0 ? -1 : l;
}

bool finite_row(MatrixRefF xy, Eigen::Index i) { return std::isfinite(xy(i, 0)) && std::isfinite(xy(i, 1)); }

// Legend entries: labels in ascending order, "unlabelled" last.
std::vector<LegendEntry> label_entries(const std::set<int>& present, const std::vector<std::string>& names) {
  std::vector<LegendEntry> out;
  for (int l : present) {
    if (l < 0) continue;
    const Style s = label_style(l);
    out.push_back({label_name(l, names), s.fill, s.edge, s.shape, false});
  }
  if (present.count(-1)) {
    const Style s = label_style(-1);
    out.push_back({"unlabelled", s.fill, s.edge, 0, false});
  }
  return out;
}

std::set<int> present_labels(MatrixRefF xy, const Labels& labels) {
  std::set<int> present;
  for (Eigen::Index i = 0; i < xy.rows(); ++i)
    if (finite_row(xy, i)) present.insert(label_at(labels, i));
  return present;
}

std::vector<std::string> texts_of(const std::vector<LegendEntry>& e) {
  std::vector<std::string> t;
  for (const auto& x : e) t.push_back(x.text);
  return t;
}

cv::Mat blank(const ChartOptions& o) { return cv::Mat(o.height, o.width, CV_8UC3, kWhite); }

// Points in the plot's sub-image, so markers at the edge are clipped by the frame, never drawn
// into the margins or the legend. Unlabelled points first (underneath), then index order.
void draw_points(cv::Mat& img, const ChartLayout& L, MatrixRefF xy, const Labels& labels, double radius,
                 bool dark_edge) {
  cv::Mat roi = img(L.plot);
  const cv::Point2d off(L.plot.x, L.plot.y);
  for (int pass = 0; pass < 2; ++pass) {
    for (Eigen::Index i = 0; i < xy.rows(); ++i) {
      const int l = label_at(labels, i);
      if ((pass == 0) != (l < 0) || !finite_row(xy, i)) continue;
      const Style s = label_style(l);
      const cv::Point2d p = L.to_pixel(xy(i, 0), xy(i, 1)) - off;
      draw_marker(roi, p, radius, s.shape, s.fill, dark_edge ? cv::Scalar(30, 30, 30) : s.edge);
    }
  }
}

// ---------------------------------------------------------- contours ------

// Marching squares on a ny×nx CV_32F grid: calls seg(x0,y0,x1,y1) in grid coordinates for every
// iso-line piece at `level`. Saddles are resolved by the cell-centre average.
template <class Seg>
void marching_squares(const cv::Mat& g, double level, Seg&& seg) {
  const int ny = g.rows, nx = g.cols;
  auto interp = [&](double xa, double ya, double va, double xb, double yb, double vb) {
    const double t = (va == vb) ? 0.5 : (level - va) / (vb - va);
    return cv::Point2d(xa + t * (xb - xa), ya + t * (yb - ya));
  };
  for (int j = 0; j + 1 < ny; ++j) {
    const float* r0 = g.ptr<float>(j);
    const float* r1 = g.ptr<float>(j + 1);
    for (int i = 0; i + 1 < nx; ++i) {
      const double v0 = r0[i], v1 = r0[i + 1], v2 = r1[i + 1], v3 = r1[i];
      const int c = (v0 >= level) | (v1 >= level) << 1 | (v2 >= level) << 2 | (v3 >= level) << 3;
      if (c == 0 || c == 15) continue;
      const double x = static_cast<double>(i), y = static_cast<double>(j);
      // Edge points: bottom (v0-v1), right (v1-v2), top (v3-v2), left (v0-v3).
      const cv::Point2d eb = interp(x, y, v0, x + 1, y, v1);
      const cv::Point2d er = interp(x + 1, y, v1, x + 1, y + 1, v2);
      const cv::Point2d et = interp(x, y + 1, v3, x + 1, y + 1, v2);
      const cv::Point2d el = interp(x, y, v0, x, y + 1, v3);
      switch (c) {
        case 1:
        case 14: seg(el, eb); break;
        case 2:
        case 13: seg(eb, er); break;
        case 3:
        case 12: seg(el, er); break;
        case 4:
        case 11: seg(er, et); break;
        case 6:
        case 9: seg(eb, et); break;
        case 7:
        case 8: seg(el, et); break;
        case 5:
        case 10: {
          const bool centre_high = (v0 + v1 + v2 + v3) / 4 >= level;
          // c == 5: corners 0 and 2 high.
          if ((c == 5) == centre_high) {
            seg(el, et), seg(eb, er);
          } else {
            seg(el, eb), seg(er, et);
          }
          break;
        }
        default: break;
      }
    }
  }
}

}  // namespace

// ================================================================ public ======

cv::Point2d ChartLayout::to_pixel(double x, double y) const {
  const double fx = (x - limits.x_min) / (limits.x_max - limits.x_min);
  const double fy = (limits.y_max - y) / (limits.y_max - limits.y_min);
  return {plot.x + fx * (plot.width - 1), plot.y + fy * (plot.height - 1)};
}

cv::Point2d ChartLayout::to_pixel_right(double x, double y2) const {
  const double fx = (x - limits.x_min) / (limits.x_max - limits.x_min);
  const double fy = (y2_max - y2) / (y2_max - y2_min);
  return {plot.x + fx * (plot.width - 1), plot.y + fy * (plot.height - 1)};
}

cv::Point2d ChartLayout::to_data(double x, double y) const {
  const double fx = (x - plot.x) / (plot.width - 1), fy = (y - plot.y) / (plot.height - 1);
  return {limits.x_min + fx * (limits.x_max - limits.x_min), limits.y_max - fy * (limits.y_max - limits.y_min)};
}

std::vector<double> nice_ticks(double lo, double hi, int max_ticks) { return make_ticks(lo, hi, max_ticks).ticks; }

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

Extent data_extent(MatrixRefF xy, float padding) {
  if (!(padding >= 0.f)) throw std::invalid_argument("chart: padding must be >= 0");
  double lo[2] = {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
  double hi[2] = {-lo[0], -lo[1]};
  if (xy.cols() >= 2)
    for (Eigen::Index i = 0; i < xy.rows(); ++i) {
      if (!finite_row(xy, i)) continue;
      for (int d = 0; d < 2; ++d) {
        lo[d] = std::min(lo[d], static_cast<double>(xy(i, d)));
        hi[d] = std::max(hi[d], static_cast<double>(xy(i, d)));
      }
    }
  for (int d = 0; d < 2; ++d) {
    if (!(lo[d] <= hi[d])) {
      lo[d] = 0, hi[d] = 1;  // nothing to show: unit axes
    } else if (hi[d] - lo[d] <= 1e-9 * std::max(1.0, std::fabs(lo[d]))) {
      const double half = std::max(0.5, 0.05 * std::fabs(lo[d]));
      lo[d] -= half, hi[d] += half;
    }
    const double r = hi[d] - lo[d];
    lo[d] -= padding * r, hi[d] += padding * r;
  }
  return {lo[0], hi[0], lo[1], hi[1]};
}

ChartLayout layout_for(const LayoutInput& in, const ChartOptions& o) {
  validate(o);
  const Extent& e = in.limits;
  if (!(std::isfinite(e.x_min) && std::isfinite(e.x_max) && e.x_min < e.x_max && std::isfinite(e.y_min) &&
        std::isfinite(e.y_max) && e.y_min < e.y_max))
    throw std::invalid_argument("chart: layout limits must be finite and increasing");
  if (in.right_axis && !(std::isfinite(in.y2_min) && std::isfinite(in.y2_max) && in.y2_min < in.y2_max))
    throw std::invalid_argument("chart: right axis limits must be finite and increasing");
  if (in.inset_px <= 0) return layout_once(in, o);
  // Widen the limits so the given ones sit inset_px inside the frame; the second pass re-fits
  // ticks and labels for the widened limits.
  const ChartLayout first = layout_once(in, o);
  LayoutInput wide = in;
  const double ux = std::max(1.0, first.plot.width - 1.0 - 2 * in.inset_px);
  const double uy = std::max(1.0, first.plot.height - 1.0 - 2 * in.inset_px);
  const double ix = std::min(in.inset_px, (first.plot.width - 1) / 3) / ux;
  const double iy = std::min(in.inset_px, (first.plot.height - 1) / 3) / uy;
  const double rx = e.x_max - e.x_min, ry = e.y_max - e.y_min;
  wide.limits = {e.x_min - ix * rx, e.x_max + ix * rx, e.y_min - iy * ry, e.y_max + iy * ry};
  wide.inset_px = 0;
  return layout_once(wide, o);
}

ChartLayout scatter_layout(MatrixRefF xy, const Labels& labels, const std::vector<std::string>& names,
                           const ChartOptions& options) {
  check_xy(xy, labels);
  LayoutInput in;
  in.limits = data_extent(xy, options.padding);
  in.legend = texts_of(label_entries(present_labels(xy, labels), names));
  return layout_for(in, options);
}

cv::Mat scatter_chart(MatrixRefF xy, const Labels& labels, const std::vector<std::string>& names,
                      const ChartOptions& options) {
  const ChartLayout L = scatter_layout(xy, labels, names, options);
  cv::Mat img = blank(options);
  if (options.grid) draw_grid(img, L);
  draw_points(img, L, xy, labels, options.marker_radius, false);
  draw_axes(img, L, options, "");
  draw_legend(img, L, label_entries(present_labels(xy, labels), names));
  return img;
}

namespace {

// Density on the grid nodes inside `win` only (the nodes within the truncated kernel's reach of
// some point); every node outside is exactly zero.
struct KdeWindow {
  cv::Mat dens;  // CV_32F, win.size()
  cv::Rect win;
};

KdeWindow kde_window(MatrixRefF points, const Extent& grid, int nx, int ny) {
  KdeWindow kw;
  std::vector<Eigen::Index> rows;
  for (Eigen::Index i = 0; i < points.rows(); ++i)
    if (finite_row(points, i)) rows.push_back(i);
  const double n = static_cast<double>(rows.size());
  if (rows.size() < 2) return kw;
  const double dx = (grid.x_max - grid.x_min) / (nx - 1), dy = (grid.y_max - grid.y_min) / (ny - 1);

  // Scott's factor n^(-1/(d+4)) scales the unbiased covariance (scipy's gaussian_kde).
  double mx = 0, my = 0;
  for (auto i : rows) mx += points(i, 0), my += points(i, 1);
  mx /= n, my /= n;
  double sxx = 0, syy = 0, sxy = 0;
  for (auto i : rows) {
    const double ux = points(i, 0) - mx, uy = points(i, 1) - my;
    sxx += ux * ux, syy += uy * uy, sxy += ux * uy;
  }
  const double f2 = std::pow(n, -2.0 / 6.0);
  double hxx = sxx / (n - 1) * f2, hyy = syy / (n - 1) * f2, hxy = sxy / (n - 1) * f2;
  hxx = std::max(hxx, dx * dx), hyy = std::max(hyy, dy * dy);
  const double rho_max = 0.98 * std::sqrt(hxx * hyy);
  hxy = std::clamp(hxy, -rho_max, rho_max);
  const double det = hxx * hyy - hxy * hxy;
  const double ixx = hyy / det, iyy = hxx / det, ixy = -hxy / det;
  const double norm = 1.0 / (2 * M_PI * std::sqrt(det) * n);
  const int hx = std::min(nx - 1, static_cast<int>(std::ceil(4 * std::sqrt(hxx) / dx)));
  const int hy = std::min(ny - 1, static_cast<int>(std::ceil(4 * std::sqrt(hyy) / dy)));

  // Linear binning onto the nodes (points off the grid carry no mass onto it).
  struct Bin {
    int i, j;
    float fx, fy;
  };
  std::vector<Bin> binned;
  int bx0 = nx, by0 = ny, bx1 = -1, by1 = -1;
  for (auto r : rows) {
    const double gx = (points(r, 0) - grid.x_min) / dx, gy = (points(r, 1) - grid.y_min) / dy;
    if (gx < 0 || gy < 0 || gx > nx - 1 || gy > ny - 1) continue;
    const int i0 = std::min(nx - 2, static_cast<int>(gx)), j0 = std::min(ny - 2, static_cast<int>(gy));
    binned.push_back({i0, j0, static_cast<float>(gx - i0), static_cast<float>(gy - j0)});
    bx0 = std::min(bx0, i0), bx1 = std::max(bx1, i0 + 1);
    by0 = std::min(by0, j0), by1 = std::max(by1, j0 + 1);
  }
  if (binned.empty()) return kw;
  kw.win = cv::Rect(cv::Point(bx0 - hx, by0 - hy), cv::Point(bx1 + hx + 1, by1 + hy + 1)) & cv::Rect(0, 0, nx, ny);
  cv::Mat bins(kw.win.size(), CV_32F, cv::Scalar(0));
  for (const Bin& b : binned) {
    const int u = b.i - kw.win.x, v = b.j - kw.win.y;
    bins.at<float>(v, u) += (1 - b.fx) * (1 - b.fy);
    bins.at<float>(v, u + 1) += b.fx * (1 - b.fy);
    bins.at<float>(v + 1, u) += (1 - b.fx) * b.fy;
    bins.at<float>(v + 1, u + 1) += b.fx * b.fy;
  }
  cv::Mat kernel(2 * hy + 1, 2 * hx + 1, CV_32F);
  for (int v = -hy; v <= hy; ++v)
    for (int u = -hx; u <= hx; ++u) {
      const double ex = u * dx, ey = v * dy;
      const double q = ixx * ex * ex + 2 * ixy * ex * ey + iyy * ey * ey;
      kernel.at<float>(v + hy, u + hx) = static_cast<float>(norm * std::exp(-0.5 * q));
    }
  // The kernel is symmetric, so filter2D's correlation is the convolution.
  cv::filter2D(bins, kw.dens, CV_32F, kernel, cv::Point(-1, -1), 0, cv::BORDER_CONSTANT);
  cv::max(kw.dens, 0.0, kw.dens);  // FFT round-off
  return kw;
}

}  // namespace

RowMatrixD gaussian_kde_grid(MatrixRefF points, const Extent& grid, int nx, int ny) {
  if (nx < 2 || ny < 2) throw std::invalid_argument("gaussian_kde_grid: need nx, ny >= 2");
  if (points.rows() > 0 && points.cols() != 2)
    throw std::invalid_argument("gaussian_kde_grid: points must have 2 columns");
  if (!(grid.x_max > grid.x_min && grid.y_max > grid.y_min))
    throw std::invalid_argument("gaussian_kde_grid: empty grid extent");
  RowMatrixD out = RowMatrixD::Zero(ny, nx);
  const KdeWindow kw = kde_window(points, grid, nx, ny);
  for (int j = 0; j < kw.win.height; ++j)
    for (int i = 0; i < kw.win.width; ++i) out(kw.win.y + j, kw.win.x + i) = kw.dens.at<float>(j, i);
  return out;
}

cv::Mat kde_chart(MatrixRefF xy, const Labels& labels, const std::vector<std::string>& names,
                  const ChartOptions& options, int levels) {
  const ChartLayout L = scatter_layout(xy, labels, names, options);
  cv::Mat img = blank(options);
  if (options.grid) draw_grid(img, L);

  std::map<int, std::vector<Eigen::Index>> groups;
  for (Eigen::Index i = 0; i < xy.rows(); ++i) {
    const int l = label_at(labels, i);
    if (l >= 0 && finite_row(xy, i)) groups[l].push_back(i);
  }
  // About one node per 3 pixels: contours look smooth and the grid stays small.
  const int nx = std::clamp(L.plot.width / 3, 40, 400), ny = std::clamp(L.plot.height / 3, 40, 400);
  const int lw = std::max(1, px(1.2 * L.scale));
  const double sx = (L.plot.width - 1.0) / (nx - 1), sy = (L.plot.height - 1.0) / (ny - 1);
  cv::Mat roi = img(L.plot);
  std::vector<double> v;
  for (const auto& [label, idx] : groups) {
    if (idx.size() < 3 || levels <= 0) continue;
    RowMatrixF pts(static_cast<Eigen::Index>(idx.size()), 2);
    for (size_t r = 0; r < idx.size(); ++r) pts.row(static_cast<Eigen::Index>(r)) = xy.row(idx[r]);
    const KdeWindow kw = kde_window(pts, L.limits, nx, ny);
    if (kw.win.empty()) continue;
    // Iso-proportion levels as seaborn: the density below which a fraction p of the mass lies.
    v.clear();
    for (int j = 0; j < kw.dens.rows; ++j)
      for (int i = 0; i < kw.dens.cols; ++i)
        if (const float d = kw.dens.at<float>(j, i); d > 0) v.push_back(d);  // zeros add no mass
    std::sort(v.begin(), v.end());
    double total = 0;
    for (double d : v) total += d;
    if (!(total > 0)) continue;
    std::vector<double> level_values;
    double cum = 0;
    int next = 0;
    for (double d : v) {
      cum += d;
      while (next < levels && cum >= (0.05 + 0.95 * next / levels) * total) {
        level_values.push_back(d);
        ++next;
      }
    }
    const cv::Scalar colour = label_colour(label);
    for (double level : level_values) {
      if (!(level > 0)) continue;
      marching_squares(kw.dens, level, [&](cv::Point2d a, cv::Point2d b) {
        // Grid row j is y_min + j·dy, i.e. counted from the bottom of the plot.
        const cv::Point2d pa((a.x + kw.win.x) * sx, (L.plot.height - 1.0) - (a.y + kw.win.y) * sy);
        const cv::Point2d pb((b.x + kw.win.x) * sx, (L.plot.height - 1.0) - (b.y + kw.win.y) * sy);
        draw_line(roi, pa, pb, colour, lw);
      });
    }
  }
  draw_points(img, L, xy, labels, options.marker_radius, false);
  draw_axes(img, L, options, "");
  draw_legend(img, L, label_entries(present_labels(xy, labels), names));
  return img;
}

cv::Mat decision_chart(MatrixRefF xy, const Labels& labels, const std::vector<std::string>& names,
                       const MeshPredictor& predict, const ChartOptions& options, int mesh) {
  if (mesh < 2 || mesh > 4096) throw std::invalid_argument("decision_chart: mesh must be in [2, 4096]");
  if (!predict) throw std::invalid_argument("decision_chart: no predictor");
  check_xy(xy, labels);
  validate(options);
  const Extent lim = data_extent(xy, options.padding);
  const double dx = (lim.x_max - lim.x_min) / mesh, dy = (lim.y_max - lim.y_min) / mesh;
  RowMatrixF grid(static_cast<Eigen::Index>(mesh) * mesh, 2);
  for (int j = 0; j < mesh; ++j)
    for (int i = 0; i < mesh; ++i) {
      grid(j * mesh + i, 0) = static_cast<float>(lim.x_min + (i + 0.5) * dx);
      grid(j * mesh + i, 1) = static_cast<float>(lim.y_min + (j + 0.5) * dy);
    }
  const std::vector<int> pred = predict(grid);
  if (pred.size() != static_cast<size_t>(grid.rows()))
    throw std::invalid_argument("decision_chart: predictor returned " + std::to_string(pred.size()) + " labels for " +
                                std::to_string(grid.rows()) + " mesh points");

  std::set<int> present = present_labels(xy, labels);
  for (int p : pred) present.insert(p < 0 ? -1 : p);
  // "unlabelled" in the legend only when points are unlabelled; white regions explain themselves.
  if (!present_labels(xy, labels).count(-1)) present.erase(-1);
  const std::vector<LegendEntry> entries = label_entries(present, names);
  LayoutInput in;
  in.limits = lim;
  in.legend = texts_of(entries);
  const ChartLayout L = layout_for(in, options);
  cv::Mat img = blank(options);

  // Each pixel takes the label with the largest bilinear weight among its four nearest mesh
  // cells, which turns the cell staircase into straighter boundaries.
  const int W = L.plot.width, H = L.plot.height;
  struct Axis {
    int a, b;
    double wb;
  };
  auto axis_map = [&](int n, int cells, bool flip) {
    std::vector<Axis> m(static_cast<size_t>(n));
    for (int u = 0; u < n; ++u) {
      double f = static_cast<double>(u) / (n - 1);
      if (flip) f = 1 - f;
      const double c = std::clamp(f * cells - 0.5, 0.0, cells - 1.0);
      const int a = std::min(cells - 2, static_cast<int>(c));
      m[static_cast<size_t>(u)] = {a, a + 1, c - a};
    }
    return m;
  };
  const auto mx = axis_map(W, mesh, false), my = axis_map(H, mesh, true);
  cv::Mat lab(H, W, CV_32S);
  for (int v = 0; v < H; ++v) {
    const Axis& ay = my[static_cast<size_t>(v)];
    for (int u = 0; u < W; ++u) {
      const Axis& ax = mx[static_cast<size_t>(u)];
      const std::array<int, 4> c = {
          pred[static_cast<size_t>(ay.a * mesh + ax.a)], pred[static_cast<size_t>(ay.a * mesh + ax.b)],
          pred[static_cast<size_t>(ay.b * mesh + ax.a)], pred[static_cast<size_t>(ay.b * mesh + ax.b)]};
      const std::array<double, 4> w = {(1 - ax.wb) * (1 - ay.wb), ax.wb * (1 - ay.wb), (1 - ax.wb) * ay.wb,
                                       ax.wb * ay.wb};
      int best = c[0];
      double best_w = -1;
      for (int q = 0; q < 4; ++q) {
        double s = 0;
        for (int r = 0; r < 4; ++r)
          if (c[static_cast<size_t>(r)] == c[static_cast<size_t>(q)]) s += w[static_cast<size_t>(r)];
        if (s > best_w + 1e-12 || (std::fabs(s - best_w) <= 1e-12 && c[static_cast<size_t>(q)] < best)) {
          best_w = s;
          best = c[static_cast<size_t>(q)];
        }
      }
      lab.at<int>(v, u) = best < 0 ? -1 : best;
    }
  }
  cv::Mat edge(H, W, CV_32F, cv::Scalar(0));
  for (int v = 0; v < H; ++v)
    for (int u = 0; u < W; ++u) {
      const int l = lab.at<int>(v, u);
      if ((u + 1 < W && lab.at<int>(v, u + 1) != l) || (v + 1 < H && lab.at<int>(v + 1, u) != l))
        edge.at<float>(v, u) = 1.f;
    }
  cv::GaussianBlur(edge, edge, cv::Size(3, 3), 0.7);
  cv::Mat roi = img(L.plot);
  const cv::Scalar boundary(95, 95, 95);
  std::map<int, cv::Vec3d> tint_cache;
  for (int v = 0; v < H; ++v)
    for (int u = 0; u < W; ++u) {
      const int l = lab.at<int>(v, u);
      auto it = tint_cache.find(l);
      if (it == tint_cache.end()) {
        const cv::Scalar t = region_colour(l);
        it = tint_cache.emplace(l, cv::Vec3d(t[0], t[1], t[2])).first;
      }
      const double a = std::min(1.0, 1.6 * edge.at<float>(v, u)) * 0.75;
      const cv::Vec3d& t = it->second;
      cv::Vec3b& p = roi.at<cv::Vec3b>(v, u);
      for (int ch = 0; ch < 3; ++ch) p[ch] = cv::saturate_cast<uchar>(t[ch] * (1 - a) + boundary[ch] * a);
    }
  draw_points(img, L, xy, labels, options.marker_radius, true);
  draw_axes(img, L, options, "");
  draw_legend(img, L, entries);
  return img;
}

namespace {

cv::Mat to_bgr8(const cv::Mat& m) {
  if (m.empty()) return {};
  cv::Mat u8;
  switch (m.depth()) {
    case CV_8U: u8 = m; break;
    case CV_16U: m.convertTo(u8, CV_8U, 1.0 / 257.0); break;
    case CV_32F:
    case CV_64F: m.convertTo(u8, CV_8U, 255.0); break;
    default: m.convertTo(u8, CV_8U); break;
  }
  cv::Mat bgr;
  if (u8.channels() == 1)
    cv::cvtColor(u8, bgr, cv::COLOR_GRAY2BGR);
  else if (u8.channels() == 4)
    cv::cvtColor(u8, bgr, cv::COLOR_BGRA2BGR);
  else if (u8.channels() == 3)
    bgr = u8;
  else
    throw std::invalid_argument("atlas_chart: thumbnails need 1, 3 or 4 channels");
  return bgr;
}

}  // namespace

cv::Mat atlas_chart(MatrixRefF xy, const std::vector<cv::Mat>& thumbnails, const Labels& labels,
                    const std::vector<std::string>& names, const ChartOptions& options, int thumb) {
  check_xy(xy, labels);
  if (thumbnails.size() != static_cast<size_t>(xy.rows()))
    throw std::invalid_argument("atlas_chart: " + std::to_string(thumbnails.size()) + " thumbnails for " +
                                std::to_string(xy.rows()) + " points");
  if (thumb < 4 || thumb > 1000) throw std::invalid_argument("atlas_chart: thumb must be in [4, 1000]");
  validate(options);
  const std::vector<LegendEntry> entries = label_entries(present_labels(xy, labels), names);
  LayoutInput in;
  in.limits = data_extent(xy, options.padding);
  in.legend = texts_of(entries);
  const int border = std::max(2, px(2 * scale_of(options)));
  in.inset_px = thumb / 2 + border;
  const ChartLayout L = layout_for(in, options);
  cv::Mat img = blank(options);
  if (options.grid) draw_grid(img, L);
  cv::Mat roi = img(L.plot);
  const cv::Rect bounds(0, 0, roi.cols, roi.rows);
  for (Eigen::Index i = 0; i < xy.rows(); ++i) {
    if (!finite_row(xy, i)) continue;
    const cv::Mat src = to_bgr8(thumbnails[static_cast<size_t>(i)]);
    int w = thumb, h = thumb;
    if (!src.empty()) {  // fit inside thumb × thumb, keeping the aspect ratio
      const double s = std::min(static_cast<double>(thumb) / src.cols, static_cast<double>(thumb) / src.rows);
      w = std::max(1, px(src.cols * s)), h = std::max(1, px(src.rows * s));
    }
    const cv::Point2d c = L.to_pixel(xy(i, 0), xy(i, 1)) - cv::Point2d(L.plot.x, L.plot.y);
    const cv::Rect box(px(c.x - w / 2.0), px(c.y - h / 2.0), w, h);
    const cv::Rect vis = box & bounds;
    if (!vis.empty()) {
      if (src.empty()) {
        roi(vis).setTo(cv::Scalar(220, 220, 220));
      } else {
        cv::Mat scaled;
        cv::resize(src, scaled, {w, h}, 0, 0, w < src.cols ? cv::INTER_AREA : cv::INTER_LINEAR);
        scaled(cv::Rect(vis.x - box.x, vis.y - box.y, vis.width, vis.height)).copyTo(roi(vis));
      }
    }
    const cv::Rect frame(box.x - border, box.y - border, w + 2 * border, h + 2 * border);
    cv::rectangle(roi, frame.tl() + cv::Point(border / 2, border / 2),
                  frame.br() - cv::Point(1 + (border - 1) / 2, 1 + (border - 1) / 2), label_colour(label_at(labels, i)),
                  border, cv::LINE_8);
  }
  draw_axes(img, L, options, "");
  draw_legend(img, L, entries);
  return img;
}

cv::Mat line_chart(const std::vector<double>& x, const std::vector<Series>& left_axis,
                   const std::vector<Series>& right_axis, const ChartOptions& options, const std::string& right_label) {
  validate(options);
  for (const auto* group : {&left_axis, &right_axis})
    for (const Series& s : *group)
      if (s.y.size() != x.size())
        throw std::invalid_argument("line_chart: series '" + s.name + "' has " + std::to_string(s.y.size()) +
                                    " values for " + std::to_string(x.size()) + " x values");
  // Limits from finite values only; reference lines must be visible too.
  auto range_of = [](const std::vector<double>& xs, const std::vector<Series>* ss, const std::vector<double>* gate) {
    std::vector<float> vals;
    if (ss) {
      for (const Series& s : *ss)
        for (size_t i = 0; i < s.y.size(); ++i)
          if (std::isfinite(s.y[i]) && (!gate || std::isfinite((*gate)[i]))) vals.push_back(static_cast<float>(s.y[i]));
    } else {
      for (double v : xs)
        if (std::isfinite(v)) vals.push_back(static_cast<float>(v));
    }
    RowMatrixF m(static_cast<Eigen::Index>(vals.size()), 2);
    for (size_t i = 0; i < vals.size(); ++i)
      m(static_cast<Eigen::Index>(i), 0) = m(static_cast<Eigen::Index>(i), 1) = vals[i];
    return m;
  };
  std::vector<double> xs = x;
  for (const auto& v : options.vlines) xs.push_back(v.first);
  const Extent ex = data_extent(range_of(xs, nullptr, nullptr), options.padding);
  const Extent ey = data_extent(range_of({}, &left_axis, &x), options.padding);
  const bool right = !right_axis.empty();
  const Extent ey2 = data_extent(range_of({}, &right_axis, &x), options.padding);

  std::vector<LegendEntry> entries;
  const size_t n_series = left_axis.size() + right_axis.size();
  const std::vector<cv::Scalar> colours = palette(static_cast<int>(n_series));
  for (size_t s = 0; s < n_series; ++s) {
    const bool is_left = s < left_axis.size();
    const Series& ser = is_left ? left_axis[s] : right_axis[s - left_axis.size()];
    entries.push_back({ser.name, colours[s], darker(colours[s]), is_left ? 0 : 1, true});
  }
  LayoutInput in;
  in.limits = {ex.x_min, ex.x_max, ey.y_min, ey.y_max};
  in.legend = texts_of(entries);
  in.right_axis = right;
  in.y2_min = ey2.y_min;
  in.y2_max = ey2.y_max;
  in.right_label = right_label;
  const ChartLayout L = layout_for(in, options);
  cv::Mat img = blank(options);
  if (options.grid) draw_grid(img, L);
  cv::Mat roi = img(L.plot);
  const cv::Point2d off(L.plot.x, L.plot.y);
  const double k = L.scale;
  const Fonts fonts(k);

  // Reference lines under the data, captions stacked so they never overlap each other.
  std::vector<cv::Rect> captions;
  for (const auto& [vx, text] : options.vlines) {
    if (!std::isfinite(vx)) continue;
    const double u = L.to_pixel(vx, 0).x - off.x;
    draw_dashed(roi, {u, 0}, {u, L.plot.height - 1.0}, cv::Scalar(90, 90, 90), std::max(1, px(1.2 * k)), 7 * k, 5 * k);
    const std::string cap = ascii(text);
    if (cap.empty()) continue;
    const cv::Size sz = text_size(cap, fonts.tick);
    const int pad = px(3 * k);
    int left = px(u) + px(5 * k);
    if (left + sz.width + pad > roi.cols) left = px(u) - px(5 * k) - sz.width;
    left = std::max(pad, left);
    cv::Rect r(left - pad, px(6 * k), sz.width + 2 * pad, sz.height + 2 * pad);
    for (bool moved = true; moved;) {
      moved = false;
      for (const cv::Rect& o : captions)
        if ((r & o).area() > 0) {
          r.y = o.y + o.height + px(3 * k);
          moved = true;
        }
    }
    captions.push_back(r);
    const cv::Rect vis = r & cv::Rect(0, 0, roi.cols, roi.rows);
    if (!vis.empty()) {
      cv::Mat box = roi(vis);
      cv::addWeighted(box, 0.15, cv::Mat(box.size(), box.type(), kWhite), 0.85, 0, box);
    }
    draw_text(roi, cap, {r.x + pad, r.y + pad}, fonts.tick, cv::Scalar(60, 60, 60), -1, -1);
  }

  const int lw = std::max(1, px(2 * k));
  for (size_t s = 0; s < n_series; ++s) {
    const bool is_left = s < left_axis.size();
    const Series& ser = is_left ? left_axis[s] : right_axis[s - left_axis.size()];
    auto at = [&](size_t i) { return (is_left ? L.to_pixel(x[i], ser.y[i]) : L.to_pixel_right(x[i], ser.y[i])) - off; };
    auto ok = [&](size_t i) { return std::isfinite(x[i]) && std::isfinite(ser.y[i]); };
    for (size_t i = 0; i + 1 < x.size(); ++i)
      if (ok(i) && ok(i + 1)) draw_line(roi, at(i), at(i + 1), colours[s], lw);
    for (size_t i = 0; i < x.size(); ++i)
      if (ok(i)) draw_marker(roi, at(i), options.marker_radius, is_left ? 0 : 1, colours[s], darker(colours[s]));
  }
  draw_axes(img, L, options, right_label);
  draw_legend(img, L, entries);
  return img;
}

void write_png(const std::filesystem::path& path, const cv::Mat& image) {
  if (image.empty()) throw std::invalid_argument("write_png: empty image for " + path.string());
  std::vector<uchar> buf;
  if (!cv::imencode(".png", image, buf)) throw std::runtime_error("write_png: cannot encode PNG for " + path.string());
  write_file_atomic(path, buf.data(), buf.size());
}

}  // namespace lumaflow
