#include <gtest/gtest.h>

#include <cmath>

#include "nodes/image/resize.hpp"
#include "test_util.hpp"

using namespace lumaflow;

// Direct reference for an integer shrink: every output pixel is the mean of its k×k block.
TEST(Resize, IntegerShrinkIsBlockMean) {
  const cv::Mat g = test::test_picture(512, 512, 1, 3);
  const cv::Mat out = resize_square(g, 128);
  ASSERT_EQ(out.size(), cv::Size(128, 128));
  int worst = 0;
  for (int r = 0; r < 128; ++r)
    for (int c = 0; c < 128; ++c) {
      int sum = 0;
      for (int dy = 0; dy < 4; ++dy)
        for (int dx = 0; dx < 4; ++dx) sum += g.at<uint8_t>(4 * r + dy, 4 * c + dx);
      worst = std::max(worst, std::abs(static_cast<int>(std::lround(sum / 16.0)) - out.at<uint8_t>(r, c)));
    }
  EXPECT_LE(worst, 1);
}

// Reference for enlarging: bilinear with pixel centres aligned (x_src = (x + 0.5) / s - 0.5).
TEST(Resize, EnlargeIsCentreAlignedBilinear) {
  const cv::Mat g = test::test_picture(92, 112, 1, 4);
  const cv::Mat out = resize_square(g, 128);
  double total = 0;
  for (int r = 0; r < 128; ++r)
    for (int c = 0; c < 128; ++c) {
      const double sx = std::clamp((c + 0.5) * 92.0 / 128 - 0.5, 0.0, 91.0);
      const double sy = std::clamp((r + 0.5) * 112.0 / 128 - 0.5, 0.0, 111.0);
      const int x0 = static_cast<int>(sx), y0 = static_cast<int>(sy);
      const int x1 = std::min(x0 + 1, 91), y1 = std::min(y0 + 1, 111);
      const double ax = sx - x0, ay = sy - y0;
      const double v = (1 - ay) * ((1 - ax) * g.at<uint8_t>(y0, x0) + ax * g.at<uint8_t>(y0, x1)) +
                       ay * ((1 - ax) * g.at<uint8_t>(y1, x0) + ax * g.at<uint8_t>(y1, x1));
      total += std::abs(v - out.at<uint8_t>(r, c));
    }
  EXPECT_LT(total / (128 * 128), 0.6);
}

TEST(Resize, CropTakesTheCentreSquare) {
  cv::Mat g(100, 300, CV_8UC1, cv::Scalar(0));
  g(cv::Rect(100, 0, 100, 100)).setTo(200);  // the centre square is bright, the sides dark
  const cv::Mat crop = resize_square(g, 50, Aspect::crop);
  const cv::Mat stretch = resize_square(g, 50, Aspect::stretch);
  EXPECT_EQ(cv::mean(crop)[0], 200.0);
  EXPECT_NEAR(cv::mean(stretch)[0], 200.0 / 3, 3.0);
}

TEST(Resize, MixedAxesAndIdentity) {
  const cv::Mat g = test::test_picture(64, 300, 1, 5);
  const cv::Mat out = resize_square(g, 128);
  EXPECT_EQ(out.size(), cv::Size(128, 128));
  const cv::Mat same = test::test_picture(128, 128, 1, 6);
  EXPECT_EQ(cv::norm(resize_square(same, 128), same, cv::NORM_INF), 0);
  EXPECT_THROW(parse_aspect("squash"), std::invalid_argument);
}
