// KDE charts: the binned Gaussian KDE grid and its iso-proportion contours (see chart.hpp).
#include "nodes/chart/chart_internal.hpp"

namespace lumaflow {

using namespace chart_detail;

namespace {

// The two cell edges (0 bottom, 1 right, 2 top, 3 left) an iso-line crosses in each case that is
// not a saddle; case c and case 15 - c cross the same pair.
constexpr int kCrossed[16][2] = {{0, 0}, {3, 0}, {0, 1}, {3, 1}, {1, 2}, {0, 0}, {0, 2}, {3, 2},
                                 {3, 2}, {0, 2}, {0, 0}, {1, 2}, {3, 1}, {0, 1}, {3, 0}, {0, 0}};

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
      if (c == 5 || c == 10) {  // saddle; c == 5: corners 0 and 2 high
        const bool centre_high = (v0 + v1 + v2 + v3) / 4 >= level;
        if ((c == 5) == centre_high) {
          seg(el, et), seg(eb, er);
        } else {
          seg(el, eb), seg(er, et);
        }
        continue;
      }
      const cv::Point2d edge[4] = {eb, er, et, el};
      seg(edge[kCrossed[c][0]], edge[kCrossed[c][1]]);
    }
  }
}

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

}  // namespace lumaflow
