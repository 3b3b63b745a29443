#include "nodes/image/resize.hpp"

#include <opencv2/imgproc.hpp>
#include <stdexcept>

namespace lumaflow {

Aspect parse_aspect(const std::string& s) {
  if (s == "stretch") return Aspect::stretch;
  if (s == "crop") return Aspect::crop;
  throw std::invalid_argument("unknown aspect policy '" + s + "' (expected stretch or crop)");
}

const char* aspect_name(Aspect a) { return a == Aspect::crop ? "crop" : "stretch"; }

cv::Mat resize_square(const cv::Mat& gray, int n, Aspect aspect) {
  if (gray.empty()) throw std::invalid_argument("resize: empty image");
  if (n <= 0) throw std::invalid_argument("resize: size must be positive");
  cv::Mat src = gray;
  if (aspect == Aspect::crop && gray.cols != gray.rows) {
    const int side = std::min(gray.cols, gray.rows);
    src = gray(cv::Rect((gray.cols - side) / 2, (gray.rows - side) / 2, side, side));
  }
  if (src.cols == n && src.rows == n) return src.clone();
  cv::Mat out;
  const bool shrink_x = src.cols > n, shrink_y = src.rows > n;
  if (shrink_x == shrink_y) {
    cv::resize(src, out, cv::Size(n, n), 0, 0, shrink_x ? cv::INTER_AREA : cv::INTER_LINEAR);
  } else {
    // One axis shrinks, the other grows: do each axis with its own filter.
    cv::Mat tmp;
    cv::resize(src, tmp, cv::Size(n, src.rows), 0, 0, shrink_x ? cv::INTER_AREA : cv::INTER_LINEAR);
    cv::resize(tmp, out, cv::Size(n, n), 0, 0, shrink_y ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  return out;
}

}  // namespace lumaflow
