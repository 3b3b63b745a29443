// Chart drawing primitives: markers, lines, grid, axes, legend and the scatter points.
#include "nodes/chart/chart_internal.hpp"

namespace lumaflow::chart_detail {

Style label_style(int label) {
  Style s;
  s.fill = label_colour(label);
  s.edge = darker(s.fill);
  s.shape = label < 0 ? 0 : label_marker(label);
  return s;
}

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

void check_xy(MatrixRefF xy, const Labels& labels) {
  if (xy.rows() > 0 && xy.cols() != 2)
    throw std::invalid_argument("chart: xy must have 2 columns, got " + std::to_string(xy.cols()));
  if (!labels.empty() && labels.size() != static_cast<size_t>(xy.rows()))
    throw std::invalid_argument("chart: " + std::to_string(labels.size()) + " labels for " + std::to_string(xy.rows()) +
                                " points");
}

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

}  // namespace lumaflow::chart_detail
