// Publication-style charts drawn with OpenCV (imgproc drawing, imgcodecs PNG).
//
// Inputs: 2-D embeddings as n×2 float rows (t-SNE/UMAP output), per-point labels (-1 = none,
// drawn grey and listed as "unlabelled"), person names indexed by label. Output: an 8-bit BGR
// image of options.width × options.height on a white background with a title, a frame, outward
// ticks at "nice" numbers with labels, axis labels and a legend placed to the RIGHT of the plot
// area (several columns when needed; never overlapping the plot, never clipped).
//
// Colours: label k uses palette(40)[k % 40] and marker shape (k / 40) % 5 (circle, square,
// triangle, diamond, inverted triangle), so up to 200 labels get distinct symbols and a label
// keeps its colour across charts. Text uses the Hershey simplex font (ASCII; other bytes are shown
// as '?'); legend names that do not fit their column end in "...".
//
// Degenerate input: n = 0 gives empty axes; identical points get a non-zero extent; non-finite
// coordinates are skipped; a label >= names.size() is called "label K".
// Complexity: O(n + width·height) per chart; kde_chart adds O(labels · G log G) for a G-node
// density grid (binned KDE, FFT-sized filtering); decision_chart adds one predict() call of
// mesh² points.
#pragma once

#include <filesystem>
#include <functional>
#include <opencv2/core.hpp>
#include <string>
#include <utility>
#include <vector>

#include "nodes/core/matrix.hpp"

namespace lumaflow {

struct ChartOptions {
  std::string title;
  std::string x_label = "dim 1", y_label = "dim 2";
  int width = 1400, height = 1000;  // pixels; at least 320 × 240
  int marker_radius = 5;            // pixels, scatter markers
  float padding = 0.05f;            // fraction of the data range added on each side
  bool grid = true;                 // light grid at the ticks (not drawn under decision regions)
  // line_chart only: vertical reference lines at x with a caption ("prototype eps 0.5").
  std::vector<std::pair<double, std::string>> vlines;
};

// Axis limits in data units: the values at the plot frame's edges.
struct Extent {
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
};

// Where everything goes. Rectangles are in image pixels; plot is the frame of the axes.
struct ChartLayout {
  cv::Size image;
  cv::Rect plot;
  cv::Rect legend;  // empty (area 0) when there is nothing to list
  int legend_columns = 0, legend_rows = 0;
  int legend_shown = 0;  // entries drawn; when < the number given, the last slot says "+K more"
  int legend_column_width = 0, legend_row_height = 0, legend_padding = 0;
  double legend_font_scale = 0;
  Extent limits;
  std::vector<double> x_ticks, y_ticks;
  bool right_axis = false;
  double y2_min = 0, y2_max = 1;
  std::vector<double> y2_ticks;
  double scale = 1;  // size factor of text, ticks and lines relative to a 1400×1000 chart

  // Data → image coordinates (continuous; pixel centres are integers). y grows upwards.
  cv::Point2d to_pixel(double x, double y) const;
  cv::Point2d to_pixel_right(double x, double y2) const;  // against the right axis
  cv::Point2d to_data(double px, double py) const;
};

// What a layout has to fit around the plot.
struct LayoutInput {
  Extent limits;                    // already padded
  std::vector<std::string> legend;  // legend texts in display order
  bool right_axis = false;
  double y2_min = 0, y2_max = 1;
  std::string right_label;
  int inset_px = 0;  // keep the limits this many pixels inside the frame (atlas thumbnails)
};

// Throws std::invalid_argument for options outside the documented ranges.
ChartLayout layout_for(const LayoutInput& input, const ChartOptions& options);

// Finite-coordinate bounding box of xy, widened when degenerate, padded by `padding`.
Extent data_extent(MatrixRefF xy, float padding);

// The layout scatter_chart, kde_chart and decision_chart use for these arguments.
ChartLayout scatter_layout(MatrixRefF xy, const Labels& labels, const std::vector<std::string>& names,
                           const ChartOptions& options);

// Ticks at 1, 2, 2.5 or 5 × 10^k inside [lo, hi], at most max_ticks of them (at least 2 when
// the range allows).
std::vector<double> nice_ticks(double lo, double hi, int max_ticks);

// n distinguishable BGR colours: matplotlib's tab10 without its grey, then farthest-point
// additions in CIELAB (mid lightness, no greys). Deterministic; palette(m) is a prefix of
// palette(n) for m < n.
std::vector<cv::Scalar> palette(int n);
cv::Scalar label_colour(int label);   // palette(40)[label % 40]; grey for label < 0
cv::Scalar region_colour(int label);  // light tint of label_colour for decision regions
int label_marker(int label);          // 0 circle, 1 square, 2 triangle, 3 diamond, 4 inverted
std::string label_name(int label, const std::vector<std::string>& names);

cv::Mat scatter_chart(MatrixRefF xy, const Labels& labels, const std::vector<std::string>& names,
                      const ChartOptions& options);

// Per-label 2-D Gaussian KDE (Scott's bandwidth n^(-1/6) on the unbiased covariance, like
// scipy.stats.gaussian_kde) with `levels` iso-proportion contours (5 % .. of the mass below,
// as seaborn's kdeplot), drawn in the label's colour; points on top. Labels with < 3 points get
// no contours.
cv::Mat kde_chart(MatrixRefF xy, const Labels& labels, const std::vector<std::string>& names,
                  const ChartOptions& options, int levels = 5);

// Density of the points at the nodes of an nx × ny grid spanning `grid` (row j ↔ y_min + j·dy,
// column i ↔ x_min + i·dx), computed by linear binning and a truncated (4σ) kernel. The
// bandwidth's variances are floored at one grid cell² and its correlation capped at 0.98 so
// degenerate groups still give drawable contours.
RowMatrixD gaussian_kde_grid(MatrixRefF points, const Extent& grid, int nx, int ny);

// predict gets the mesh×mesh cell centres over the plot limits (row r = j·mesh + i is
// x_min + (i + ½)·dx, y_min + (j + ½)·dy) and must return mesh² labels (-1 = none: white).
using MeshPredictor = std::function<std::vector<int>(const RowMatrixF&)>;
cv::Mat decision_chart(MatrixRefF xy, const Labels& labels, const std::vector<std::string>& names,
                       const MeshPredictor& predict, const ChartOptions& options, int mesh = 300);

// Each thumbnail (8-bit or float in [0,1]; 1, 3 or 4 channels; any size) scaled to fit thumb×thumb
// and centred on its point, in index order (later on top), with a border in its label colour.
cv::Mat atlas_chart(MatrixRefF xy, const std::vector<cv::Mat>& thumbnails, const Labels& labels,
                    const std::vector<std::string>& names, const ChartOptions& options, int thumb = 40);

struct Series {
  std::string name;
  std::vector<double> y;  // one per x; NaN leaves a gap
};
// Lines with markers against x; left_axis series use the left y axis, right_axis series a
// second axis on the right (labelled right_label). options.vlines adds dashed reference lines.
cv::Mat line_chart(const std::vector<double>& x, const std::vector<Series>& left_axis,
                   const std::vector<Series>& right_axis, const ChartOptions& options,
                   const std::string& right_label = "");

// PNG via path + ".tmp" and a rename, so readers never see half a file. Throws
// std::runtime_error naming the path on failure, std::invalid_argument for an empty image.
void write_png(const std::filesystem::path& path, const cv::Mat& image);

}  // namespace lumaflow
