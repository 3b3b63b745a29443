// Chart text: ASCII for the Hershey fonts, measuring, drawing and fitting text; tick placement.
#include "nodes/chart/chart_internal.hpp"

namespace lumaflow::chart_detail {

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

cv::Size text_size(const std::string& s, const Font& f, int* baseline) {
  int b = 0;
  const cv::Size sz = cv::getTextSize(s, kFont, f.scale, f.thickness, &b);
  if (baseline) *baseline = b;
  return sz;
}

int cap_height(const Font& f) { return text_size("0", f).height; }

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

}  // namespace lumaflow::chart_detail

namespace lumaflow {

using namespace chart_detail;

std::vector<double> nice_ticks(double lo, double hi, int max_ticks) { return make_ticks(lo, hi, max_ticks).ticks; }

}  // namespace lumaflow
