#include "nodes/model/annotate.hpp"

#include <cstdio>

#include <algorithm>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

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

FaceMark answer_mark(const cv::Rect* box, cv::Size frame, bool known, int label, float confidence,
                     const std::string& name) {
  FaceMark m;
  m.box = box && box->area() > 0 ? *box : cv::Rect(0, 0, frame.width, frame.height);
  m.label = known ? label : -1;
  m.text = name;
  if (known) {
    char conf[16];
    std::snprintf(conf, sizeof conf, " %.2f", confidence);
    m.text += conf;
  }
  return m;
}

FaceMark answer_mark(const Answer& a, cv::Size frame, const std::string& shown) {
  const cv::Rect r = a.box ? cv::Rect(a.box->x, a.box->y, a.box->width, a.box->height) : cv::Rect();
  return answer_mark(a.box ? &r : nullptr, frame, a.result.known, a.result.label, a.result.confidence, shown);
}

void write_annotated(const std::filesystem::path& frame, const std::string& rel, const std::vector<FaceAnswer>& faces,
                     const std::filesystem::path& dir) {
  if (faces.empty()) return;
  const cv::Mat img = cv::imread(frame.string(), cv::IMREAD_COLOR);
  if (img.empty()) throw std::runtime_error(frame.string() + ": cannot re-read the frame to annotate it");
  std::vector<FaceMark> marks;
  for (const FaceAnswer& f : faces) marks.push_back(answer_mark(f.answer, img.size(), f.shown));
  const std::filesystem::path out = dir / annotated_file_name(rel);
  std::filesystem::create_directories(out.parent_path());
  bool ok = false;
  try {
    ok = cv::imwrite(out.string(), annotate_frame(img, marks));
  } catch (const cv::Exception&) {
  }
  if (!ok) throw std::runtime_error(out.string() + ": cannot write the annotated frame");
}

std::string annotated_file_name(const std::string& rel) {
  std::string name = rel;
  std::replace(name.begin(), name.end(), '/', '_');
  if (name.size() < 4 || name.compare(name.size() - 4, 4, ".png") != 0) name += ".png";
  return name;
}

}  // namespace lumaflow
