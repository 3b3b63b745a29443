// Test helpers: temporary folders, the real-data location, small image writers.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace lumaflow::test {

// A fresh folder under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::mt19937_64 rng(std::random_device{}());
    path_ = std::filesystem::temp_directory_path() / ("lumaflow-test-" + std::to_string(rng()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& s) const { return path_ / s; }

 private:
  std::filesystem::path path_;
};

// $LUMAFLOW_DATA, default ../shared/data next to the source tree. Empty when absent.
inline std::filesystem::path data_dir() {
  const char* env = std::getenv("LUMAFLOW_DATA");
  std::filesystem::path p =
      env && *env ? std::filesystem::path(env) : std::filesystem::path(LUMAFLOW_SOURCE_DIR) / ".." / "shared" / "data";
  std::error_code ec;
  return std::filesystem::is_directory(p, ec) ? p : std::filesystem::path();
}

inline std::filesystem::path data_set(const std::string& name) {
  const auto d = data_dir();
  if (d.empty() || !std::filesystem::is_directory(d / name)) return {};
  return d / name;
}

#define LUMAFLOW_REQUIRE_DATA(var, name)                                                \
  const auto var = ::lumaflow::test::data_set(name);                                    \
  if (var.empty())                                                                      \
  GTEST_SKIP() << "real data set '" << name << "' not found (set LUMAFLOW_DATA to the " \
               << "folder holding it; default ../shared/data)"

inline void write_bytes(const std::filesystem::path& p, const std::vector<uint8_t>& b) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

inline void write_text(const std::filesystem::path& p, const std::string& s) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << s;
}

inline std::vector<uint8_t> encode(const cv::Mat& img, const std::string& ext, std::vector<int> params = {}) {
  std::vector<uint8_t> buf;
  if (!cv::imencode(ext, img, buf, params)) throw std::runtime_error("imencode failed");
  return buf;
}

// Expects make() to throw std::runtime_error with every one of `parts` in its message.
template <class Make>
void expect_runtime_error_naming(Make&& make, const std::vector<std::string>& parts) {
  try {
    make();
    ADD_FAILURE() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    for (const auto& part : parts) EXPECT_NE(msg.find(part), std::string::npos) << msg;
  }
}

inline std::vector<uint8_t> read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// A smooth, textured test picture (no external data): gradients, circles and mild noise.
inline cv::Mat test_picture(int w, int h, int channels, uint64_t seed) {
  cv::Mat img(h, w, channels == 1 ? CV_8UC1 : CV_8UC3);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> noise(-6, 6);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double fx = x / static_cast<double>(w), fy = y / static_cast<double>(h);
      const int base = static_cast<int>(128 + 80 * std::sin(6.0 * fx + 3.0 * fy) * std::cos(4.0 * fy));
      for (int c = 0; c < img.channels(); ++c) {
        const int v = std::clamp(base + 30 * c - 30 + noise(rng), 0, 255);
        img.ptr<uint8_t>(y)[x * img.channels() + c] = static_cast<uint8_t>(v);
      }
    }
  return img;
}

}  // namespace lumaflow::test
