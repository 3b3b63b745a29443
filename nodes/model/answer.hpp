// Answer lines: one JSON object (or CSV row) per classified face, as `classify` and `watch`
// print them. Shape:
//   {"path": "...", "face": 0, "box": [x, y, w, h], "label": "s7" | "new-1" | null,
//    "candidate": "s7", "confidence": 0.93, "status": "known" | "unknown",
//    "distance": 3.1, "umap": [x, y], "neighbors": [{"label": "s7", "distance": 2.9}, ...],
//    "ms": 0.41}
// and for a file that could not be used: {"path": "...", "status": "error", "error": "..."}.
// "label" is the person for known faces, the proposed identity ("new-K") for unknown faces that
// joined one, else null; "candidate" is always the closest known person.
#pragma once

#include <optional>
#include <string>

#include "nodes/model/model.hpp"

namespace lumaflow {

struct Answer {
  std::string path;
  int face_index = 0;
  std::optional<FaceBox> box;
  Classification result;
  std::optional<std::string> proposed;  // "new-K" for an unknown face in a proposed identity
  double ms = 0;
};

std::string answer_json(const Answer& a, const FittedModel& model);
std::string error_json(const std::string& path, const std::string& reason);

// A CSV field, quoted (RFC 4180) when it holds a comma, quote or newline.
std::string csv_field(const std::string& s);

std::string answer_csv_header();
std::string answer_csv(const Answer& a, const FittedModel& model);
std::string error_csv(const std::string& path, const std::string& reason);

}  // namespace lumaflow
