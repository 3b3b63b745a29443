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
#include <vector>

#include "nodes/image/embed.hpp"
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

// One classified face of a frame: its answer (face index, box, result; the path and proposed
// identity are the recorder's), its reduced-space vector (unknown faces only: the open set's
// input) and the name drawn on an annotated frame.
struct FaceAnswer {
  Answer answer;
  std::vector<float> reduced;
  std::string shown;
};

// Classifies each face on its own (results never depend on the batch). Throws std::runtime_error
// when a face has another number of values than the model expects.
std::vector<FaceAnswer> classify_faces(const FittedModel& model, const std::vector<FaceCrop>& faces);

// The model's name for a known answer, else "unknown".
std::string known_name(const Classification& c, const FittedModel& model);

std::string answer_json(const Answer& a, const FittedModel& model);
std::string error_json(const std::string& path, const std::string& reason);

// A CSV field, quoted (RFC 4180) when it holds a comma, quote or newline.
std::string csv_field(const std::string& s);

std::string answer_csv_header();
std::string answer_csv(const Answer& a, const FittedModel& model);
std::string error_csv(const std::string& path, const std::string& reason);

}  // namespace lumaflow
