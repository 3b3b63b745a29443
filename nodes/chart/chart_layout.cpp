// Chart layout: where the title, axes, plot and legend go, and the data <-> pixel mapping.
#include "nodes/chart/chart_internal.hpp"

namespace lumaflow::chart_detail {

double scale_of(const ChartOptions& o) { return std::clamp(std::min(o.width / 1400.0, o.height / 1000.0), 0.7, 4.0); }

void validate(const ChartOptions& o) {
  if (o.width < 320 || o.height < 240 || o.width > 20000 || o.height > 20000)
    throw std::invalid_argument("chart: width/height must be within 320×240 .. 20000×20000, got " +
                                std::to_string(o.width) + "×" + std::to_string(o.height));
  if (o.marker_radius < 1 || o.marker_radius > 200)
    throw std::invalid_argument("chart: marker_radius must be in [1, 200]");
  if (!(o.padding >= 0.f && o.padding <= 1.f)) throw std::invalid_argument("chart: padding must be in [0, 1]");
}

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
  L.right_axis = in.right_axis;
  L.y2_min = in.y2_min;
  L.y2_max = in.y2_max;
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

}  // namespace lumaflow::chart_detail

namespace lumaflow {

using namespace chart_detail;

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

}  // namespace lumaflow
