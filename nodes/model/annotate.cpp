#include "nodes/model/annotate.hpp"

#include <algorithm>
#include <opencv2/imgproc.hpp>

#include "nodes/chart/chart.hpp"

namespace lumaflow {

cv::Mat annotate_frame(const cv::Mat& frame, const std::vector<FaceMark>& marks) {
  cv::Mat out;
  if (frame.channels() == 1)
    cv::cvtColor(frame, out, cv::COLOR_GRAY2BGR);
  else if (frame.channels() == 4)
    cv::cvtColor(frame, out, cv::COLOR_BGRA2BGR);
  else
    out = frame.clone();
  const double scale = std::clamp(std::max(out.cols, out.rows) / 1200.0, 0.45, 1.5);
  const int thick = std::max(1, static_cast<int>(std::lround(2 * scale)));
  for (const auto& m : marks) {
    const cv::Scalar colour = m.label >= 0 ? label_colour(m.label) : cv::Scalar(140, 140, 140);
    cv::rectangle(out, m.box, colour, thick, cv::LINE_AA);
    int base = 0;
    const cv::Size ts = cv::getTextSize(m.text, cv::FONT_HERSHEY_SIMPLEX, 0.6 * scale, thick, &base);
    int x = std::clamp(m.box.x, 0, std::max(0, out.cols - ts.width - 4));
    int y = m.box.y - 4 >= ts.height + 4 ? m.box.y - 4 : std::min(out.rows - 4, m.box.y + m.box.height + ts.height + 4);
    cv::rectangle(out, cv::Rect(x, y - ts.height - 3, ts.width + 4, ts.height + base + 4), colour, cv::FILLED);
    cv::putText(out, m.text, cv::Point(x + 2, y), cv::FONT_HERSHEY_SIMPLEX, 0.6 * scale, cv::Scalar(255, 255, 255),
                thick, cv::LINE_AA);
  }
  return out;
}

}  // namespace lumaflow
