#include <gtest/gtest.h>

#include <cmath>

#include "nodes/image/luminance.hpp"
#include "test_util.hpp"

using namespace lumaflow;

TEST(Luminance, EqualsBt601WeightsOnBgr) {
  cv::Mat bgr = test::test_picture(64, 48, 3, 1);
  const cv::Mat y = to_luminance(bgr);
  ASSERT_EQ(y.type(), CV_8UC1);
  ASSERT_EQ(y.size(), bgr.size());
  int worst = 0;
  for (int r = 0; r < bgr.rows; ++r)
    for (int c = 0; c < bgr.cols; ++c) {
      const auto p = bgr.at<cv::Vec3b>(r, c);
      const double ref = 0.299 * p[2] + 0.587 * p[1] + 0.114 * p[0];
      worst = std::max(worst, std::abs(static_cast<int>(std::lround(ref)) - y.at<uint8_t>(r, c)));
    }
  EXPECT_LE(worst, 1);  // fixed-point rounding only
}

TEST(Luminance, PureColoursHitTheWeights) {
  cv::Mat img(1, 3, CV_8UC3);
  img.at<cv::Vec3b>(0, 0) = {0, 0, 255};  // red
  img.at<cv::Vec3b>(0, 1) = {0, 255, 0};  // green
  img.at<cv::Vec3b>(0, 2) = {255, 0, 0};  // blue
  const cv::Mat y = to_luminance(img);
  EXPECT_NEAR(y.at<uint8_t>(0, 0), 76, 1);   // 0.299 * 255
  EXPECT_NEAR(y.at<uint8_t>(0, 1), 150, 1);  // 0.587 * 255
  EXPECT_NEAR(y.at<uint8_t>(0, 2), 29, 1);   // 0.114 * 255
}

TEST(Luminance, AlphaIgnoredAndSixteenBitScaled) {
  cv::Mat bgra(2, 2, CV_8UC4, cv::Scalar(10, 20, 30, 0));
  cv::Mat bgr(2, 2, CV_8UC3, cv::Scalar(10, 20, 30));
  EXPECT_EQ(cv::norm(to_luminance(bgra), to_luminance(bgr), cv::NORM_INF), 0);
  cv::Mat g16(1, 3, CV_16UC1);
  g16.at<uint16_t>(0, 0) = 0;
  g16.at<uint16_t>(0, 1) = 65535;
  g16.at<uint16_t>(0, 2) = 257 * 100;
  const cv::Mat y = to_luminance(g16);
  EXPECT_EQ(y.at<uint8_t>(0, 0), 0);
  EXPECT_EQ(y.at<uint8_t>(0, 1), 255);
  EXPECT_EQ(y.at<uint8_t>(0, 2), 100);
}

TEST(Luminance, GrayPassesThroughAndFlattenIsRowMajor) {
  cv::Mat g = test::test_picture(5, 3, 1, 2);
  EXPECT_EQ(cv::norm(to_luminance(g), g, cv::NORM_INF), 0);
  const auto v = flatten(g);
  ASSERT_EQ(v.size(), 15u);
  EXPECT_EQ(v[7], g.at<uint8_t>(1, 2));
  EXPECT_THROW(flatten(cv::Mat(2, 2, CV_8UC3)), std::invalid_argument);
  EXPECT_THROW(to_luminance(cv::Mat()), std::invalid_argument);
}
