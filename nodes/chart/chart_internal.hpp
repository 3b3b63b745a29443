// Internals shared by the chart files; not part of the public API (chart.hpp).
//
//   chart_colour.cpp   palette (CIELAB farthest-point), label colours and markers
//   chart_text.cpp     ASCII text in Hershey fonts, tick placement and tick labels
//   chart_layout.cpp   layout of title, axes, plot and legend; data <-> pixel mapping
//   chart_draw.cpp     markers, lines, grid, axes, legend and scatter points
//   chart.cpp          scatter_chart, line_chart and write_png
//   chart_kde.cpp      binned Gaussian KDE and its iso-proportion contours (kde_chart)
//   chart_regions.cpp  classifier decision regions (decision_chart)
//   chart_atlas.cpp    thumbnails at their points (atlas_chart)
#pragma once

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

#include "nodes/chart/chart.hpp"

namespace lumaflow::chart_detail {

inline constexpr int kPaletteSize = 40;
inline constexpr int kMarkerShapes = 5;
inline constexpr int kShift = 4;  // sub-pixel bits for OpenCV drawing
inline constexpr double kSub = 1 << kShift;
inline constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

inline const cv::Scalar kWhite(255, 255, 255);
inline const cv::Scalar kInk(38, 38, 38);  // text, frame, ticks
inline const cv::Scalar kGridColour(232, 232, 232);
inline const cv::Scalar kUnlabelled(170, 170, 170);
inline const cv::Scalar kLegendFrame(204, 204, 204);

struct Lab {
  double l, a, b;
};

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

struct TickSet {
  std::vector<double> ticks;
  int decimals = 0;
  bool general = false;  // use %g (huge or tiny magnitudes)
};

// Legend metrics for a font: the symbol slot holds a marker (and a line in line charts).
struct LegendMetrics {
  Font font;
  int text_h, row_h, symbol_w, gap, column_gap, pad;
};

struct LegendFit {
  LegendMetrics m;
  int columns = 0, rows = 0, shown = 0, column_w = 0, width = 0, height = 0;
};

struct Style {
  cv::Scalar fill, edge;
  int shape = 0;
};

struct LegendEntry {
  std::string text;
  cv::Scalar fill, edge;
  int shape = 0;
  bool line = false;  // line-chart entry: a short line through the marker
};

// ---- chart_colour.cpp: colour
double srgb_to_linear(double c);
Lab rgb_to_lab(double r8, double g8, double b8);
double lab_dist2(const Lab& p, const Lab& q);
cv::Scalar mix(const cv::Scalar& a, const cv::Scalar& b, double t);
cv::Scalar darker(const cv::Scalar& c, double f = 0.62);
const std::vector<cv::Scalar>& base_palette();

// ---- chart_text.cpp: text
// Hershey fonts have ASCII glyphs only: Latin-1 letters lose their accents (é → e, ß → ss),
// any other UTF-8 sequence becomes one '?', control characters become spaces.
std::string ascii(const std::string& s);
cv::Size text_size(const std::string& s, const Font& f, int* baseline = nullptr);
int cap_height(const Font& f);
// halign: -1 left, 0 centre, 1 right of anchor.x; valign: -1 top, 0 middle (of the cap height),
// 1 baseline at anchor.y.
void draw_text(cv::Mat& img, const std::string& s, cv::Point anchor, const Font& f, const cv::Scalar& colour,
               int halign, int valign);
// Text reading bottom to top, centred on `centre`. Composited with min() so dark text survives
// on any lighter background.
void draw_text_vertical(cv::Mat& img, const std::string& s, cv::Point centre, const Font& f, const cv::Scalar& colour);
std::string fit_text(const std::string& s, const Font& f, int max_width);

// ---- chart_text.cpp: ticks
TickSet make_ticks(double lo, double hi, int max_ticks);
std::string format_tick(double v, const TickSet& t);
std::vector<std::string> tick_labels(const TickSet& t);
int widest(const std::vector<std::string>& labels, const Font& f);

// ---- chart_layout.cpp: geometry
double scale_of(const ChartOptions& o);
inline int px(double v) { return static_cast<int>(std::lround(v)); }
void validate(const ChartOptions& o);
LegendMetrics legend_metrics(const Font& f, double k);
int max_legend_text_width(const LegendMetrics& m, double k);
LegendFit fit_legend(const std::vector<std::string>& texts, double k, int max_width, int max_height);
ChartLayout layout_once(const LayoutInput& in, const ChartOptions& o);

// ---- chart_draw.cpp: markers
Style label_style(int label);
inline cv::Point sub(double x, double y) { return {px(x * kSub), px(y * kSub)}; }
// Marker of "radius" r centred at c (coordinates of img), shapes of roughly equal area.
void draw_marker(cv::Mat& img, cv::Point2d c, double r, int shape, const cv::Scalar& fill, const cv::Scalar& edge);
void draw_line(cv::Mat& img, cv::Point2d a, cv::Point2d b, const cv::Scalar& c, int thickness);
void draw_dashed(cv::Mat& img, cv::Point2d a, cv::Point2d b, const cv::Scalar& c, int thickness, double dash,
                 double space);

// ---- chart_draw.cpp: axes
void draw_grid(cv::Mat& img, const ChartLayout& L);
void draw_axes(cv::Mat& img, const ChartLayout& L, const ChartOptions& o, const std::string& right_label);
void draw_legend(cv::Mat& img, const ChartLayout& L, const std::vector<LegendEntry>& entries);

// ---- chart_draw.cpp: scatter
void check_xy(MatrixRefF xy, const Labels& labels);
inline int label_at(const Labels& labels, Eigen::Index i) {
  if (labels.empty()) return -1;
  const int l = labels[static_cast<size_t>(i)];
  return l < 0 ? -1 : l;
}
inline bool finite_row(MatrixRefF xy, Eigen::Index i) { return std::isfinite(xy(i, 0)) && std::isfinite(xy(i, 1)); }
// Legend entries: labels in ascending order, "unlabelled" last.
std::vector<LegendEntry> label_entries(const std::set<int>& present, const std::vector<std::string>& names);
std::set<int> present_labels(MatrixRefF xy, const Labels& labels);
std::vector<std::string> texts_of(const std::vector<LegendEntry>& e);
cv::Mat blank(const ChartOptions& o);
// Points in the plot's sub-image, so markers at the edge are clipped by the frame, never drawn
// into the margins or the legend. Unlabelled points first (underneath), then index order.
void draw_points(cv::Mat& img, const ChartLayout& L, MatrixRefF xy, const Labels& labels, double radius,
                 bool dark_edge);

}  // namespace lumaflow::chart_detail
