// Atlas charts: every point's thumbnail at its place, framed in its label colour (see chart.hpp).
#include "nodes/chart/chart_internal.hpp"

namespace lumaflow {

using namespace chart_detail;

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

}  // namespace lumaflow
