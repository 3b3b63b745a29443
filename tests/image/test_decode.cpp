#include <gtest/gtest.h>

#include <cstring>

#include <opencv2/imgproc.hpp>

#include "nodes/image/decode.hpp"
#include "nodes/image/luminance.hpp"
#include "nodes/image/resize.hpp"
#include "test_util.hpp"

using namespace lumaflow;

TEST(Decode, ProbesEveryFormatsSize) {
  const cv::Mat img = test::test_picture(37, 23, 3, 1);
  for (const char* ext : {".jpg", ".png", ".ppm", ".bmp", ".webp", ".tif"}) {
    const auto bytes = test::encode(img, ext);
    const ImageProbe p = probe_image(bytes);
    EXPECT_EQ(p.width, 37u) << ext;
    EXPECT_EQ(p.height, 23u) << ext;
    const DecodedImage d = decode_image(bytes);
    EXPECT_EQ(d.image.cols, 37) << ext;
    EXPECT_EQ(d.image.rows, 23) << ext;
  }
  const auto pgm = test::encode(test::test_picture(92, 112, 1, 2), ".pgm");
  EXPECT_EQ(probe_image(pgm).format, ImageFormat::pnm);
  EXPECT_EQ(probe_image(pgm).height, 112u);
}

TEST(Decode, RefusesEmptyTextAndTruncated) {
  EXPECT_THROW(decode_image({}), DecodeError);
  const std::string text = "this is not a picture at all\n";
  EXPECT_THROW(decode_image(std::vector<uint8_t>(text.begin(), text.end())), DecodeError);
  auto jpg = test::encode(test::test_picture(200, 200, 3, 3), ".jpg");
  jpg.resize(jpg.size() / 2);
  try {
    decode_image(jpg);
    FAIL() << "truncated JPEG accepted";
  } catch (const DecodeError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
  auto png = test::encode(test::test_picture(200, 200, 3, 3), ".png");
  png.resize(png.size() / 2);
  EXPECT_THROW(decode_image(png), DecodeError);
}

TEST(Decode, RefusesHugeBeforeDecodingAndTinyImages) {
  // A PNG header that declares 20000×20000 (400 MP) and nothing else: refused from the header.
  auto png = test::encode(test::test_picture(16, 16, 1, 4), ".png");
  auto put32 = [&](size_t off, uint32_t v) {
    for (int i = 0; i < 4; ++i) png[off + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  };
  put32(16, 20000);
  put32(20, 20000);
  try {
    decode_image(png);
    FAIL() << "huge image accepted";
  } catch (const DecodeError& e) {
    EXPECT_NE(std::string(e.what()).find("over the limit"), std::string::npos) << e.what();
  }
  DecodeOptions small;
  small.max_megapixels = 0.0001;  // 100 pixels
  EXPECT_THROW(decode_image(test::encode(test::test_picture(16, 16, 1, 4), ".png"), small), DecodeError);
  EXPECT_THROW(decode_image(test::encode(cv::Mat(1, 1, CV_8UC1, cv::Scalar(9)), ".png")), DecodeError);
}

// Found by fuzz/fuzz_decode: a header declaring 4,294,967,295 × 4,294,967,295 pixels made the
// refusal message convert 1.8e13 MP to int (undefined behaviour; garbage in the message).
TEST(Decode, RefusalOfAnAbsurdHeaderNamesItsTrueSize) {
  auto png = test::encode(test::test_picture(16, 16, 1, 4), ".png");
  for (size_t off : {16u, 20u})
    for (int i = 0; i < 4; ++i) png[off + i] = 0xFF;
  try {
    decode_image(png);
    FAIL() << "absurd header accepted";
  } catch (const DecodeError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("4294967295x4294967295 pixels (18446744065120 MP)"), std::string::npos) << m;
    EXPECT_EQ(m.find('-'), std::string::npos) << m;
  }
  DecodeOptions o;
  o.max_megapixels = 3e12;  // over INT_MAX: printed as it is
  png = test::encode(test::test_picture(16, 16, 1, 4), ".png");
  for (size_t off : {16u, 20u})
    for (int i = 0; i < 4; ++i) png[off + i] = i == 0 ? 0x7F : 0xFF;
  try {
    decode_image(png, o);
    FAIL() << "absurd header accepted";
  } catch (const DecodeError& e) {
    EXPECT_NE(std::string(e.what()).find("over the limit of 3000000000000 MP"), std::string::npos) << e.what();
  }
}

// Found by fuzz/fuzz_decode: bytes that start like WebP (which OpenCV's WebP decoder then
// declines) with "DICM" at offset 128 went to OpenCV's DICOM decoder, whose libgdcm aborted the
// whole process on a failed assert. Refused before OpenCV sees them; real images still decode.
TEST(Decode, ADicomMarkerInsideAnotherFormatIsRefusedNotAborted) {
  std::vector<uint8_t> b(140, 0x0A);
  std::memcpy(b.data(), "RIFF\x2e\0\0\0WEBPVL8\0", 16);
  std::memcpy(&b[128], "DICM", 4);
  EXPECT_THROW(decode_image(b), DecodeError);
  auto bmp = test::encode(test::test_picture(40, 40, 3, 5), ".bmp");
  ASSERT_GE(bmp.size(), 132u);
  std::memcpy(&bmp[128], "DICM", 4);  // inside the pixels: refused rather than risked
  EXPECT_THROW(decode_image(bmp), DecodeError);
  auto png = test::encode(test::test_picture(40, 40, 3, 5), ".png");
  EXPECT_EQ(decode_image(png).image.cols, 40);
}

// fuzz_decode: 62 bytes that start like WebP with a chunk the probe does not know (so no size
// from the header) decoded to more pixels than the limit allowed. The decoded size is held to it.
TEST(Decode, TheDecodedSizeIsHeldToTheLimitToo) {
  const std::vector<uint8_t> b = {0x52, 0x49, 0x46, 0x46, 0x2e, 0x00, 0x00, 0x00, 0x57, 0x45, 0x42, 0x50, 0x2f,
                                  0x00, 0xd0, 0x03, 0x0f, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88,
                                  0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x4a, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x50, 0x35, 0x20, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xf7, 0xff, 0xff, 0x88, 0x88, 0x88, 0x98};
  ASSERT_EQ(probe_image(b).width, 0u);  // the header says nothing
  DecodeOptions o;
  o.max_megapixels = 16;
  try {
    const DecodedImage d = decode_image(b, o);
    EXPECT_LE(static_cast<double>(d.image.cols) * d.image.rows, 16e6) << d.image.cols << "x" << d.image.rows;
  } catch (const DecodeError& e) {
    EXPECT_NE(std::string(e.what()).find("over the limit"), std::string::npos) << e.what();
  }
}

TEST(Decode, SixteenBitAndRgbaPngAreConvertedNotRefused) {
  cv::Mat g16(20, 20, CV_16UC1);
  for (int i = 0; i < 400; ++i) g16.at<uint16_t>(i / 20, i % 20) = static_cast<uint16_t>(i * 160);
  const DecodedImage d16 = decode_image(test::encode(g16, ".png"));
  ASSERT_EQ(d16.image.depth(), CV_16U);
  const cv::Mat y16 = to_luminance(d16.image);
  EXPECT_EQ(y16.at<uint8_t>(10, 10), cv::saturate_cast<uint8_t>(210 * 160 / 257.0));
  cv::Mat bgra(20, 20, CV_8UC4, cv::Scalar(30, 60, 90, 128));
  const DecodedImage d4 = decode_image(test::encode(bgra, ".png"));
  EXPECT_EQ(d4.image.channels(), 4);
  EXPECT_NEAR(to_luminance(d4.image).at<uint8_t>(5, 5), 0.299 * 90 + 0.587 * 60 + 0.114 * 30, 1.0);
}

// The reduced JPEG path must stay close to the full decode once both are area-resized to N.
TEST(Decode, ReducedJpegStaysCloseToFullDecode) {
  const cv::Mat big = test::test_picture(1920, 1080, 3, 5);
  const auto jpg = test::encode(big, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90});
  DecodeOptions reduced;
  reduced.target_size = 128;
  DecodeOptions full = reduced;
  full.reduced_jpeg = false;
  const DecodedImage r = decode_image(jpg, reduced);
  const DecodedImage f = decode_image(jpg, full);
  EXPECT_EQ(r.reduction, 8);  // 1080 / 128 >= 8
  EXPECT_EQ(f.reduction, 1);
  EXPECT_EQ(r.source_width, 1920u);
  const cv::Mat a = resize_square(to_luminance(r.image), 128), b = resize_square(to_luminance(f.image), 128);
  cv::Mat diff;
  cv::absdiff(a, b, diff);
  const double mad = cv::mean(diff)[0] / 255.0;
  EXPECT_LT(mad, 0.01) << "mean absolute difference " << mad;
  EXPECT_EQ(jpeg_reduction(300, 300, reduced), 2);
  EXPECT_EQ(jpeg_reduction(600, 600, reduced), 4);
  EXPECT_EQ(jpeg_reduction(200, 200, reduced), 1);
}
