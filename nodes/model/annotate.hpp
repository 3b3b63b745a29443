// Annotate: a frame with a box and a name drawn for each classified face (PNG output of
// classify/watch --annotate). Known faces in their person's chart colour, unknown in grey.
#pragma once

#include <filesystem>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "nodes/model/answer.hpp"

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

// The same from an answer line's data: its box and result, `shown` the name drawn.
FaceMark answer_mark(const Answer& a, cv::Size frame, const std::string& shown);

// The annotated PNG's file name for an input at relative path `rel`: '/' → '_', ".png" appended
// unless the name already ends so (a.jpg → a.jpg.png, a.png → a.png; never two inputs alike).
std::string annotated_file_name(const std::string& rel);

// Re-reads `frame`, draws one mark per answer and writes DIR/annotated_file_name(rel). Writes
// nothing for a frame without faces. Throws std::runtime_error naming the file when the frame
// cannot be re-read or the PNG cannot be written.
void write_annotated(const std::filesystem::path& frame, const std::string& rel, const std::vector<FaceAnswer>& faces,
                     const std::filesystem::path& dir);

// Returns a BGR copy of `frame` (gray or BGR) with the marks drawn; text stays inside the image.
cv::Mat annotate_frame(const cv::Mat& frame, const std::vector<FaceMark>& marks);

}  // namespace lumaflow
