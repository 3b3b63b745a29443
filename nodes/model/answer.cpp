#include "nodes/model/answer.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

namespace lumaflow {
namespace {

std::string name_of(const FittedModel& m, int label) {
  return label >= 0 && static_cast<size_t>(label) < m.labels.size() ? m.labels[static_cast<size_t>(label)] : "";
}

// Divides by an exact power of ten so the printed value is the short decimal, not 20.506700000000002.
double round_to(double v, double step) {
  const double scale = std::round(1.0 / step);
  return std::round(v * scale) / scale;
}

}  // namespace

std::vector<FaceAnswer> classify_faces(const FittedModel& model, const std::vector<FaceCrop>& faces) {
  const auto d = static_cast<Eigen::Index>(model.dims());
  std::vector<FaceAnswer> out;
  out.reserve(faces.size());
  for (const FaceCrop& f : faces) {
    const RowMatrixF row = face_row(f);
    if (row.cols() != d)
      throw std::runtime_error("face has " + std::to_string(row.cols()) + " values, the model expects " +
                               std::to_string(d));
    FaceAnswer a;
    a.answer.face_index = f.face_index;
    a.answer.box = f.box;
    a.answer.result = std::move(classify(model, row, 1).at(0));
    if (!a.answer.result.known) {
      const RowMatrixF z = model.reduce(row);
      a.reduced.assign(z.data(), z.data() + z.size());
    }
    out.push_back(std::move(a));
  }
  return out;
}

std::string known_name(const Classification& c, const FittedModel& m) {
  const std::string name = c.known ? name_of(m, c.label) : "";
  return name.empty() ? "unknown" : name;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string answer_json(const Answer& a, const FittedModel& m) {
  nlohmann::ordered_json j;
  j["path"] = a.path;
  j["face"] = a.face_index;
  if (a.box) j["box"] = {a.box->x, a.box->y, a.box->width, a.box->height};
  if (a.result.known)
    j["label"] = name_of(m, a.result.label);
  else if (a.proposed)
    j["label"] = *a.proposed;
  else
    j["label"] = nullptr;
  j["candidate"] = name_of(m, a.result.label);
  j["confidence"] = round_to(a.result.confidence, 1e-4);
  j["status"] = a.result.known ? "known" : "unknown";
  j["distance"] = round_to(a.result.nearest, 1e-4);
  j["umap"] = {round_to(a.result.umap_x, 1e-4), round_to(a.result.umap_y, 1e-4)};
  auto& n = j["neighbors"] = nlohmann::ordered_json::array();
  for (const auto& nb : a.result.neighbors)
    n.push_back({{"label", name_of(m, nb.label)}, {"distance", round_to(nb.distance, 1e-4)}});
  j["ms"] = round_to(a.ms, 1e-3);
  return j.dump();
}

std::string error_json(const std::string& path, const std::string& reason) {
  nlohmann::ordered_json j;
  j["path"] = path;
  j["status"] = "error";
  j["error"] = reason;
  return j.dump();
}

std::string answer_csv_header() {
  return "path,face,label,candidate,confidence,status,distance,umap_x,umap_y,ms,error";
}

std::string answer_csv(const Answer& a, const FittedModel& m) {
  char buf[256];
  const std::string label = a.result.known ? name_of(m, a.result.label) : a.proposed.value_or("");
  std::snprintf(buf, sizeof buf, ",%.4f,%s,%.4f,%.4f,%.4f,%.3f,", a.result.confidence,
                a.result.known ? "known" : "unknown", a.result.nearest, a.result.umap_x, a.result.umap_y, a.ms);
  return csv_field(a.path) + "," + std::to_string(a.face_index) + "," + csv_field(label) + "," +
         csv_field(name_of(m, a.result.label)) + buf;
}

std::string error_csv(const std::string& path, const std::string& reason) {
  return csv_field(path) + ",,,,,error,,,,," + csv_field(reason);
}

}  // namespace lumaflow
