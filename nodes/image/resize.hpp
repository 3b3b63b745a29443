// Resize: gray image -> N×N square, the prototype's "shrink to N×N".
//
// Aspect policy: stretch (the prototype's behaviour: both sides scaled independently) or crop
// (centre square crop of the short side first, so faces keep their proportions).
// Interpolation: area averaging (INTER_AREA) along a shrinking axis, which is what an
// anti-aliased downscale must do; bilinear (INTER_LINEAR, pixel-centre aligned) when
// enlarging, which is exactly what PIL's BILINEAR does when enlarging (orl's 92×112 -> 128).
// Complexity O(source pixels).
#pragma once

#include <opencv2/core.hpp>
#include <string>

namespace lumaflow {

enum class Aspect { stretch, crop };
Aspect parse_aspect(const std::string& s);  // "stretch" | "crop"; throws std::invalid_argument
const char* aspect_name(Aspect a);

cv::Mat resize_square(const cv::Mat& gray, int n, Aspect aspect = Aspect::stretch);

}  // namespace lumaflow
