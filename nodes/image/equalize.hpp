// Contrast normalisation of gray face crops before they become pixel vectors.
//
// Input: CV_8UC1 image. Output: a new CV_8UC1 image of the same size (never aliases the input).
//   none  — an exact copy;
//   hist  — global histogram equalisation (cv::equalizeHist): output spans ~0..255;
//   clahe — contrast-limited adaptive equalisation on clahe_tile × clahe_tile tiles with clip
//           limit clahe_clip; evens out side lighting without blowing up flat regions.
// Cost O(pixels). Stateless and thread-safe (a CLAHE object is made per call: they are cheap
// and not safe to share between threads).
#pragma once

#include <opencv2/core.hpp>

namespace lumaflow {

enum class Equalize { none, hist, clahe };

cv::Mat equalize(const cv::Mat& gray, Equalize mode, double clahe_clip = 2.0, int clahe_tile = 8);

}  // namespace lumaflow
