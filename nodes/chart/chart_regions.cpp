// Decision-region charts: a classifier's answer on a mesh under the scatter (see chart.hpp).
#include "nodes/chart/chart_internal.hpp"

namespace lumaflow {

using namespace chart_detail;

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

}  // namespace lumaflow
