// Annotate: a frame with a box and a name drawn for each classified face (PNG output of
// classify/watch --annotate). Known faces in their person's chart colour, unknown in grey.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace lumaflow {

struct FaceMark {
  cv::Rect box;
  std::string text;  // e.g. "leonard 0.91" or "unknown"
  int label = -1;    // colour index (chart palette), -1 = grey
};

// Returns a BGR copy of `frame` (gray or BGR) with the marks drawn; text stays inside the image.
cv::Mat annotate_frame(const cv::Mat& frame, const std::vector<FaceMark>& marks);

}  // namespace lumaflow
