// Scatter and line charts, and the atomic PNG writer (see chart.hpp).
#include "nodes/chart/chart_internal.hpp"
#include "nodes/core/atomic_file.hpp"

namespace lumaflow {

using namespace chart_detail;

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
