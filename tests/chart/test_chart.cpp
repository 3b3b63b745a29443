#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>

#include "nodes/chart/chart.hpp"

using namespace lumaflow;
namespace fs = std::filesystem;

namespace {

// Independent sRGB → CIELAB (D65) for the palette test.
std::array<double, 3> lab_of(const cv::Scalar& bgr) {
  auto lin = [](double c) {
    c /= 255;
    return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
  };
  const double r = lin(bgr[2]), g = lin(bgr[1]), b = lin(bgr[0]);
  const double X = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
  const double Y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
  const double Z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883;
  auto f = [](double t) { return t > 0.008856 ? std::cbrt(t) : 7.787 * t + 16.0 / 116; };
  return {116 * f(Y) - 16, 500 * (f(X) - f(Y)), 200 * (f(Y) - f(Z))};
}

// n points in `k` Gaussian blobs around a circle, labels 0..k-1.
RowMatrixF blobs(int k, int per, Labels& labels, unsigned seed = 3) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.f, 0.6f);
  RowMatrixF xy(k * per, 2);
  labels.clear();
  for (int c = 0; c < k; ++c)
    for (int j = 0; j < per; ++j) {
      const double a = 2 * M_PI * c / k, rad = 4 + (c % 3) * 3;
      xy(c * per + j, 0) = static_cast<float>(rad * std::cos(a)) + g(rng);
      xy(c * per + j, 1) = static_cast<float>(rad * std::sin(a)) + g(rng);
      labels.push_back(c);
    }
  return xy;
}

std::vector<std::string> person_names(int k) {
  std::vector<std::string> n;
  for (int i = 0; i < k; ++i) n.push_back("person " + std::to_string(i));
  return n;
}

int non_white(const cv::Mat& img) {
  cv::Mat gray;
  cv::cvtColor(img, gray, cv::COLOR_BGR2GRAY);
  return cv::countNonZero(gray < 250);
}

// The chart survives a PNG round trip at the requested size and has real content.
void expect_png_chart(const cv::Mat& img, const ChartOptions& o, int min_ink) {
  ASSERT_EQ(img.type(), CV_8UC3);
  std::vector<uchar> buf;
  ASSERT_TRUE(cv::imencode(".png", img, buf));
  const cv::Mat back = cv::imdecode(buf, cv::IMREAD_COLOR);
  ASSERT_EQ(back.cols, o.width);
  ASSERT_EQ(back.rows, o.height);
  EXPECT_EQ(cv::norm(back, img, cv::NORM_INF), 0);
  EXPECT_GT(non_white(back), min_ink);
  EXPECT_EQ(back.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 255, 255));  // white background
}

bool inside(const cv::Rect& r, cv::Size s) {
  return r.x >= 0 && r.y >= 0 && r.x + r.width <= s.width && r.y + r.height <= s.height;
}

double colour_dist(const cv::Vec3b& a, const cv::Scalar& b) {
  return std::sqrt(std::pow(a[0] - b[0], 2) + std::pow(a[1] - b[1], 2) + std::pow(a[2] - b[2], 2));
}

ChartOptions small_options() {
  ChartOptions o;
  o.width = 700;
  o.height = 500;
  o.title = "test chart";
  return o;
}

}  // namespace

TEST(Chart, PaletteFortyColoursArePairwiseDistinct) {
  const auto p = palette(40);
  ASSERT_EQ(p.size(), 40u);
  double min_de = 1e9, min_bgr = 1e9;
  for (size_t i = 0; i < p.size(); ++i) {
    const auto li = lab_of(p[i]);
    for (size_t j = i + 1; j < p.size(); ++j) {
      const auto lj = lab_of(p[j]);
      min_de = std::min(min_de, std::hypot(li[0] - lj[0], li[1] - lj[1], li[2] - lj[2]));
      min_bgr = std::min(min_bgr, cv::norm(p[i] - p[j]));
    }
    // Visible on white and not confusable with the grey of unlabelled points.
    EXPECT_LT(li[0], 85) << i;
    EXPECT_GT(std::hypot(li[1], li[2]), 20) << i;
  }
  EXPECT_GT(min_de, 12.0);
  EXPECT_GE(min_bgr, 40.0);
  // Deterministic and nested: a small palette is the start of a large one.
  const auto p10 = palette(10), p100 = palette(100);
  ASSERT_EQ(p100.size(), 100u);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(p10[i], p[i]);
  for (size_t i = 0; i < 40; ++i) EXPECT_EQ(p100[i], p[i]);
  EXPECT_TRUE(palette(0).empty());
}

TEST(Chart, LabelsBeyondThePaletteChangeShape) {
  EXPECT_EQ(label_colour(3), label_colour(43));
  EXPECT_NE(label_marker(3), label_marker(43));
  EXPECT_EQ(label_marker(0), 0);
  EXPECT_EQ(label_name(2, {"a", "b", "c"}), "c");
  EXPECT_EQ(label_name(7, {"a"}), "label 7");
  EXPECT_EQ(label_name(-1, {"a"}), "unlabelled");
}

TEST(Chart, NiceTicks) {
  const auto unit = nice_ticks(0, 1, 6);  // steps of 0.2: 0, 0.2, ..., 1
  ASSERT_EQ(unit.size(), 6u);
  for (size_t i = 0; i < 6; ++i) EXPECT_NEAR(unit[i], 0.2 * static_cast<double>(i), 1e-12);
  // Range 15.9 with at most 8 ticks: step 1 gives 16, step 2 gives -2, 0, ..., 12 (8 ticks).
  const auto t = nice_ticks(-3.7, 12.2, 8);
  ASSERT_EQ(t.size(), 8u);
  EXPECT_NEAR(t[1] - t[0], 2.0, 1e-9);
  EXPECT_NEAR(t.front(), -2.0, 1e-9);
  EXPECT_NEAR(t.back(), 12.0, 1e-9);
  // At most 3 ticks over [0, 10]: step 5 → 0, 5, 10.
  EXPECT_EQ(nice_ticks(0, 10, 3), (std::vector<double>{0, 5, 10}));
  for (double lo : {-1e-3, 0.0, 7.0, -250.0, 1e5})
    for (double span : {1e-4, 0.37, 1.0, 13.0, 999.0})
      for (int m : {3, 5, 10}) {
        const auto ticks = nice_ticks(lo, lo + span, m);
        ASSERT_GE(ticks.size(), 2u) << lo << " " << span;
        EXPECT_LE(static_cast<int>(ticks.size()), m);
        const double s = ticks[1] - ticks[0];
        const double mant = s / std::pow(10.0, std::floor(std::log10(s) + 1e-9));
        EXPECT_TRUE(std::fabs(mant - 1) < 1e-6 || std::fabs(mant - 2) < 1e-6 || std::fabs(mant - 2.5) < 1e-6 ||
                    std::fabs(mant - 5) < 1e-6)
            << s;
        EXPECT_GE(ticks.front(), lo - 1e-9 * span);
        EXPECT_LE(ticks.back(), lo + span + 1e-9 * span);
      }
}

TEST(Chart, LayoutKeepsLegendOutsidePlotAndInsideImage) {
  for (cv::Size size : {cv::Size(1400, 1000), cv::Size(700, 500), cv::Size(320, 240)})
    for (int k : {3, 40, 100, 400}) {
      ChartOptions o;
      o.width = size.width, o.height = size.height;
      o.title = "layout";
      LayoutInput in;
      in.limits = {-12.5, 40.25, -3, 1000};
      for (int i = 0; i < k; ++i) {
        std::string name(i % 7 == 0 ? "a rather long person name number " : "p");
        name += std::to_string(i);
        in.legend.push_back(name);
      }
      const ChartLayout L = layout_for(in, o);
      SCOPED_TRACE(std::to_string(size.width) + " labels " + std::to_string(k));
      EXPECT_TRUE(inside(L.plot, size));
      EXPECT_TRUE(inside(L.legend, size));
      EXPECT_GT(L.legend.area(), 0);
      EXPECT_EQ((L.plot & L.legend).area(), 0);
      EXPECT_GE(L.legend.x, L.plot.x + L.plot.width) << "legend to the right of the plot";
      EXPECT_GT(L.plot.width, size.width / 5);
      EXPECT_GT(L.plot.height, size.height / 3);
      EXPECT_LE(L.legend.y + L.legend.height, L.plot.y + L.plot.height);
      EXPECT_GE(L.legend_columns * L.legend_rows, std::min(k, L.legend_shown + 1));
      if (size.width == 1400 && k <= 100) {
        EXPECT_EQ(L.legend_shown, k) << "all names listed";
      }
      if (size.width == 1400 && k == 100) {
        EXPECT_GT(L.legend_columns, 1);
      }
      if (k == 3) {
        EXPECT_EQ(L.legend_columns, 1);
      }
      // Round trip of the data ↔ pixel mapping; limits land on the frame.
      const cv::Point2d a = L.to_pixel(in.limits.x_min, in.limits.y_max);
      EXPECT_NEAR(a.x, L.plot.x, 1e-9);
      EXPECT_NEAR(a.y, L.plot.y, 1e-9);
      const cv::Point2d d = L.to_data(L.to_pixel(3.25, 17).x, L.to_pixel(3.25, 17).y);
      EXPECT_NEAR(d.x, 3.25, 1e-9);
      EXPECT_NEAR(d.y, 17, 1e-9);
    }
  ChartOptions o;
  LayoutInput none;
  EXPECT_EQ(layout_for(none, o).legend.area(), 0);
  o.width = 100;
  EXPECT_THROW(layout_for(none, o), std::invalid_argument);
}

TEST(Chart, MarkerIsDrawnWhereTheLayoutMapsIt) {
  RowMatrixF xy(4, 2);
  xy << 0, 0, 10, 0, 0, 10, 10, 10;
  const Labels labels = {0, 1, 2, 41};  // 41: second palette cycle, square marker
  const std::vector<std::string> names = {"ann", "bob", "cy"};
  ChartOptions o = small_options();
  const cv::Mat img = scatter_chart(xy, labels, names, o);
  const ChartLayout L = scatter_layout(xy, labels, names, o);
  for (int i = 0; i < 4; ++i) {
    const cv::Point2d p = L.to_pixel(xy(i, 0), xy(i, 1));
    const cv::Vec3b c = img.at<cv::Vec3b>(static_cast<int>(std::lround(p.y)), static_cast<int>(std::lround(p.x)));
    EXPECT_LT(colour_dist(c, label_colour(labels[static_cast<size_t>(i)])), 4.0) << "point " << i;
    EXPECT_TRUE(L.plot.contains(cv::Point(static_cast<int>(p.x), static_cast<int>(p.y))));
  }
  // Half-way between markers there is only background (or grid).
  const cv::Point2d mid = L.to_pixel(5.3, 4.7);
  const cv::Vec3b m = img.at<cv::Vec3b>(static_cast<int>(mid.y), static_cast<int>(mid.x));
  EXPECT_GE(m[0], 225);
  // The legend lists the 4 labels, "label 41" included.
  EXPECT_EQ(L.legend_shown, 4);
}

TEST(Chart, EveryChartRoundTripsAsPng) {
  Labels labels;
  const RowMatrixF xy = blobs(40, 4, labels);
  const auto names = person_names(40);
  const ChartOptions o = small_options();
  expect_png_chart(scatter_chart(xy, labels, names, o), o, 4000);
  expect_png_chart(kde_chart(xy, labels, names, o, 3), o, 4000);
  auto left_right = [](const RowMatrixF& g) {
    std::vector<int> out;
    for (Eigen::Index i = 0; i < g.rows(); ++i) out.push_back(g(i, 0) < 0 ? 0 : 1);
    return out;
  };
  expect_png_chart(decision_chart(xy, labels, names, left_right, o, 60), o, 50000);
  std::vector<cv::Mat> thumbs;
  for (int i = 0; i < xy.rows(); ++i) thumbs.emplace_back(20, 16, CV_8UC1, cv::Scalar(i % 200));
  expect_png_chart(atlas_chart(xy, thumbs, labels, names, o, 24), o, 20000);
  ChartOptions lo = o;
  lo.vlines = {{0.5, "prototype eps 0.5"}, {0.8, "suggested"}};
  expect_png_chart(line_chart({0.1, 0.3, 0.5, 0.7, 0.9}, {{"ARI", {0, 0.2, 0.6, 0.8, 0.1}}},
                              {{"clusters", {40, 30, 12, 3, 1}}}, lo, "clusters"),
                   lo, 3000);
}

TEST(Chart, DecisionRegionsFollowThePredictor) {
  RowMatrixF xy(2, 2);
  xy << -1, -1, 1, 1;
  const Labels labels = {0, 1};
  int calls = 0;
  Eigen::Index mesh_points = 0;
  auto predict = [&](const RowMatrixF& g) {
    ++calls;
    mesh_points = g.rows();
    std::vector<int> out;
    for (Eigen::Index i = 0; i < g.rows(); ++i) out.push_back(g(i, 0) < 0 ? 0 : 1);
    return out;
  };
  const ChartOptions o = small_options();
  const cv::Mat img = decision_chart(xy, labels, {"left", "right"}, predict, o, 50);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(mesh_points, 2500);
  const ChartLayout L = scatter_layout(xy, labels, {"left", "right"}, o);
  for (double y : {-0.6, 0.0, 0.7}) {
    const cv::Point2d l = L.to_pixel(-0.55, y), r = L.to_pixel(0.5, y);
    const cv::Vec3b cl = img.at<cv::Vec3b>(static_cast<int>(l.y), static_cast<int>(l.x));
    const cv::Vec3b cr = img.at<cv::Vec3b>(static_cast<int>(r.y), static_cast<int>(r.x));
    EXPECT_LT(colour_dist(cl, region_colour(0)), 3.0);
    EXPECT_LT(colour_dist(cr, region_colour(1)), 3.0);
  }
  // Regions are light tints, each nearer its own label colour than the other's.
  EXPECT_LT(cv::norm(region_colour(0) - label_colour(0)), cv::norm(region_colour(0) - label_colour(1)));
  EXPECT_GT(cv::sum(region_colour(0))[0], cv::sum(label_colour(0))[0]);
  // A boundary is visible at x = 0: darker than both tints.
  const cv::Point2d b = L.to_pixel(0, 0.4);
  int darkest = 255 * 3;
  for (int dx = -2; dx <= 2; ++dx) {
    const cv::Vec3b c = img.at<cv::Vec3b>(static_cast<int>(b.y), static_cast<int>(std::lround(b.x)) + dx);
    darkest = std::min(darkest, c[0] + c[1] + c[2]);
  }
  EXPECT_LT(darkest, cv::sum(region_colour(0))[0] - 60);
  EXPECT_LT(darkest, cv::sum(region_colour(1))[0] - 60);

  auto bad = [](const RowMatrixF&) { return std::vector<int>{0}; };
  EXPECT_THROW(decision_chart(xy, labels, {}, bad, o, 10), std::invalid_argument);
}

TEST(Chart, KdeGridMatchesBruteForce) {
  std::mt19937 rng(11);
  std::normal_distribution<float> g;
  RowMatrixF pts(60, 2);
  for (int i = 0; i < 60; ++i) {
    const float a = g(rng), b = g(rng);
    pts(i, 0) = 1.5f * a + 2;
    pts(i, 1) = 0.8f * a + 0.6f * b - 1;  // correlated: the full covariance matters
  }
  const Extent ext{-6, 10, -6, 4};
  const int nx = 81, ny = 51;
  const RowMatrixD d = gaussian_kde_grid(pts, ext, nx, ny);
  // Scott's rule by hand: H = cov · n^(-1/3) for d = 2.
  const double n = 60;
  Eigen::Vector2d mean = Eigen::Vector2d::Zero();
  for (int i = 0; i < 60; ++i) mean += pts.row(i).transpose().cast<double>();
  mean /= n;
  Eigen::Matrix2d cov = Eigen::Matrix2d::Zero();
  for (int i = 0; i < 60; ++i) {
    const Eigen::Vector2d u = pts.row(i).transpose().cast<double>() - mean;
    cov += u * u.transpose();
  }
  const Eigen::Matrix2d H = cov / (n - 1) * std::pow(n, -1.0 / 3.0);
  const double det = H(0, 0) * H(1, 1) - H(0, 1) * H(1, 0);
  Eigen::Matrix2d Hi;
  Hi << H(1, 1) / det, -H(0, 1) / det, -H(1, 0) / det, H(0, 0) / det;
  double max_ref = 0, max_err = 0, mass = 0;
  for (int j = 0; j < ny; ++j)
    for (int i = 0; i < nx; ++i) {
      const Eigen::Vector2d q(ext.x_min + i * 0.2, ext.y_min + j * 0.2);
      double s = 0;
      for (int p = 0; p < 60; ++p) {
        const Eigen::Vector2d u = q - pts.row(p).transpose().cast<double>();
        s += std::exp(-0.5 * u.dot(Hi * u));
      }
      s /= n * 2 * M_PI * std::sqrt(det);
      max_ref = std::max(max_ref, s);
      max_err = std::max(max_err, std::fabs(s - d(j, i)));
      mass += d(j, i) * 0.2 * 0.2;
    }
  EXPECT_LT(max_err, 0.03 * max_ref);
  EXPECT_NEAR(mass, 1.0, 0.02);  // a density: integrates to one over a covering grid
}

TEST(Chart, KdeContoursSurroundEachGroup) {
  // Two tight groups far apart: contour ink in a group's colour appears around its centre only.
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.f, 0.5f);
  RowMatrixF xy(80, 2);
  Labels labels;
  for (int i = 0; i < 80; ++i) {
    const float cx = i < 40 ? -5.f : 5.f;
    xy(i, 0) = cx + g(rng), xy(i, 1) = g(rng);
    labels.push_back(i < 40 ? 0 : 1);
  }
  ChartOptions o = small_options();
  o.marker_radius = 2;
  const cv::Mat img = kde_chart(xy, labels, {"a", "b"}, o, 4);
  const cv::Mat plain = scatter_chart(xy, labels, {"a", "b"}, o);
  const ChartLayout L = scatter_layout(xy, labels, {"a", "b"}, o);
  auto count_near = [&](const cv::Mat& im, int label, double x0, double x1) {
    int c = 0;
    const double u0 = std::max<double>(L.plot.x + 2, L.to_pixel(x0, 0).x);
    const double u1 = std::min<double>(L.plot.x + L.plot.width - 2, L.to_pixel(x1, 0).x);
    for (int v = L.plot.y + 2; v < L.plot.y + L.plot.height - 2; ++v)
      for (int u = static_cast<int>(u0); u < static_cast<int>(u1); ++u)
        if (colour_dist(im.at<cv::Vec3b>(v, u), label_colour(label)) < 30) ++c;
    return c;
  };
  EXPECT_GT(count_near(img, 0, -9, -1), count_near(plain, 0, -9, -1) + 100);
  EXPECT_GT(count_near(img, 1, 1, 9), count_near(plain, 1, 1, 9) + 100);
  EXPECT_EQ(count_near(img, 0, 1, 9), 0);
  EXPECT_EQ(count_near(img, 1, -9, -1), 0);
}

TEST(Chart, AtlasDrawsThumbnailsAtTheirPoints) {
  RowMatrixF xy(3, 2);
  xy << 0, 0, 5, 5, 10, 0;
  std::vector<cv::Mat> thumbs = {cv::Mat(30, 30, CV_8UC3, cv::Scalar(0, 0, 200)),
                                 cv::Mat(10, 20, CV_32FC1, cv::Scalar(0.5)), cv::Mat()};
  const ChartOptions o = small_options();
  const cv::Mat img = atlas_chart(xy, thumbs, {0, 1, 2}, {"a", "b", "c"}, o, 30);
  cv::Mat red;
  cv::inRange(img, cv::Scalar(0, 0, 195), cv::Scalar(5, 5, 205), red);
  EXPECT_GT(cv::countNonZero(red), 20 * 20);
  cv::Mat grey;
  cv::inRange(img, cv::Scalar(125, 125, 125), cv::Scalar(130, 130, 130), grey);
  EXPECT_GT(cv::countNonZero(grey), 200);
  EXPECT_THROW(atlas_chart(xy, {thumbs[0]}, {0, 1, 2}, {}, o), std::invalid_argument);
}

TEST(Chart, DegenerateInputsDrawWithoutThrowing) {
  const ChartOptions o = small_options();
  auto any = [](const RowMatrixF& g) { return std::vector<int>(static_cast<size_t>(g.rows()), 0); };
  RowMatrixF empty(0, 2);
  RowMatrixF same(5, 2);
  same.setConstant(3.f);
  RowMatrixF with_nan(4, 2);
  with_nan << 0, 0, NAN, 1, 2, INFINITY, 1, 1;
  const Labels five = {0, 0, 1, 9, -1}, four = {0, 1, 1, 7};
  for (const auto& [xy, labels] :
       std::vector<std::pair<RowMatrixF, Labels>>{{empty, {}}, {same, five}, {with_nan, four}, {same, {}}}) {
    std::vector<cv::Mat> thumbs(static_cast<size_t>(xy.rows()), cv::Mat(8, 8, CV_8UC1, cv::Scalar(90)));
    const std::vector<std::string> names = {"only name"};
    for (const cv::Mat& img :
         {scatter_chart(xy, labels, names, o), kde_chart(xy, labels, names, o),
          decision_chart(xy, labels, names, any, o, 20), atlas_chart(xy, thumbs, labels, names, o)}) {
      EXPECT_EQ(img.size(), cv::Size(o.width, o.height));
      EXPECT_GT(non_white(img), 1000);  // at least frame, ticks and title
    }
  }
  ChartOptions wordy = o;
  wordy.title = std::string(400, 'T');
  wordy.x_label = std::string(300, 'x');
  wordy.y_label = std::string(300, 'y');
  EXPECT_EQ(scatter_chart(same, five, {}, wordy).size(), cv::Size(o.width, o.height));
  const Extent e = data_extent(same, 0.f);
  EXPECT_LT(e.x_min, 3.0);
  EXPECT_GT(e.x_max, 3.0);
  const Extent en = data_extent(with_nan, 0.f);
  EXPECT_DOUBLE_EQ(en.x_max, 1.0);  // NaN and inf rows skipped
  EXPECT_DOUBLE_EQ(en.y_max, 1.0);
  EXPECT_NO_THROW(line_chart({}, {}, {}, o, ""));
  EXPECT_NO_THROW(line_chart({1, 2}, {{"a", {NAN, 1}}}, {{"b", {2, 2}}}, o, "b"));
  EXPECT_THROW(line_chart({1, 2}, {{"a", {1}}}, {}, o, ""), std::invalid_argument);
  RowMatrixF three(2, 3);
  three.setZero();
  EXPECT_THROW(scatter_chart(three, {0, 0}, {}, o), std::invalid_argument);
  EXPECT_THROW(scatter_chart(same, {0}, {}, o), std::invalid_argument);
}

TEST(Chart, WritePngIsAtomicAndReportsThePath) {
  const fs::path dir = fs::temp_directory_path() / ("lumaflow_chart_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const cv::Mat img(40, 60, CV_8UC3, cv::Scalar(10, 200, 30));
  const fs::path out = dir / "a.png";
  write_png(out, img);
  EXPECT_FALSE(fs::exists(dir / "a.png.tmp"));
  const cv::Mat back = cv::imread(out.string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(back.empty());
  EXPECT_EQ(cv::norm(back, img, cv::NORM_INF), 0);
  write_png(out, img);  // replaces an existing file
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);

  const fs::path bad = dir / "missing_dir" / "b.png";
  try {
    write_png(bad, img);
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(bad.parent_path().string()), std::string::npos) << e.what();
  }
  EXPECT_THROW(write_png(out, cv::Mat()), std::invalid_argument);
  fs::remove_all(dir);
}
