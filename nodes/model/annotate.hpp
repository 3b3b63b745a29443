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

// One face's mark, as classify and watch both draw it: its box (the whole frame for a face
// without one, e.g. --faces asis), "NAME 0.91" (SVM confidence) when known, else `name` alone
// ("unknown", or a proposed identity such as "new-1").
FaceMark answer_mark(const cv::Rect* box, cv::Size frame, bool known, int label, float confidence,
                     const std::string& name);

// The annotated PNG's file name for an input at relative path `rel`: '/' → '_', ".png" appended
// unless the name already ends so (a.jpg → a.jpg.png, a.png → a.png; never two inputs alike).
std::string annotated_file_name(const std::string& rel);

// Returns a BGR copy of `frame` (gray or BGR) with the marks drawn; text stays inside the image.
cv::Mat annotate_frame(const cv::Mat& frame, const std::vector<FaceMark>& marks);

}  // namespace lumaflow
