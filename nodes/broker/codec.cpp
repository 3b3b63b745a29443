#include "nodes/broker/codec.hpp"

#include <cstring>
#include <nlohmann/json.hpp>

#include "nodes/core/checksum.hpp"

namespace lumaflow {
namespace {

using json = nlohmann::json;

std::string bytes_of(const void* p, size_t n) { return n ? std::string(static_cast<const char*>(p), n) : ""; }

template <class T>
std::vector<T> vec_of(const std::string& s, const std::string& id, const char* field) {
  if (s.size() % sizeof(T)) throw CodecError("entry " + id + ": field '" + field + "' has a bad length");
  std::vector<T> v(s.size() / sizeof(T));
  if (!s.empty()) std::memcpy(v.data(), s.data(), s.size());
  return v;
}

class Fields {
 public:
  Fields(const std::string& id, const StreamFields& f) : id_(id), f_(f) {}
  const std::string* find(const char* name) const {
    for (const auto& [k, v] : f_)
      if (k == name) return &v;
    return nullptr;
  }
  const std::string& get(const char* name) const {
    if (const auto* v = find(name)) return *v;
    throw CodecError("entry " + id_ + ": no field '" + name + "'");
  }
  int64_t integer(const char* name) const {
    const std::string& s = get(name);
    try {
      size_t used = 0;
      const long long v = std::stoll(s, &used);
      if (used == s.size()) return v;
    } catch (const std::exception&) {
    }
    throw CodecError("entry " + id_ + ": field '" + name + "' is not a number");
  }

 private:
  const std::string& id_;
  const StreamFields& f_;
};

uint64_t parse_hex64(const std::string& s, const std::string& id) {
  if (s.size() != 16 || s.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw CodecError("entry " + id + ": field 'hash' is not 16 hex digits");
  return std::stoull(s, nullptr, 16);
}

const char* status_name(ResultStatus s) {
  return s == ResultStatus::ok ? "ok" : s == ResultStatus::noface ? "noface" : "error";
}

}  // namespace

void append_fields(std::vector<std::string>& args, const StreamFields& fields) {
  for (const auto& [k, v] : fields) {
    args.push_back(k);
    args.push_back(v);
  }
}

StreamFields encode_frame(const FrameEntry& f) {
  StreamFields out{{"name", f.name}};
  if (f.shared_path.empty())
    out.emplace_back("bytes", bytes_of(f.bytes.data(), f.bytes.size()));
  else
    out.emplace_back("path", f.shared_path);
  out.emplace_back("hash", hex64(f.hash));
  out.emplace_back("captured", std::to_string(f.captured_ms));
  out.emplace_back("published", std::to_string(f.published_ms));
  return out;
}

FrameEntry decode_frame(const std::string& id, const StreamFields& fields) {
  const Fields f(id, fields);
  FrameEntry e;
  e.id = id;
  e.name = f.get("name");
  if (const auto* b = f.find("bytes"))
    e.bytes.assign(b->begin(), b->end());
  else if (const auto* p = f.find("path"))
    e.shared_path = *p;
  else
    throw CodecError("entry " + id + ": neither 'bytes' nor 'path'");
  e.hash = parse_hex64(f.get("hash"), id);
  e.captured_ms = f.integer("captured");
  e.published_ms = f.integer("published");
  return e;
}

StreamFields encode_result(const ResultEntry& r) {
  StreamFields out{{"frame", r.frame_id},
                   {"name", r.name},
                   {"face", std::to_string(r.face)},
                   {"faces", std::to_string(r.faces)},
                   {"status", status_name(r.status)},
                   {"published", std::to_string(r.published_ms)},
                   {"worker", r.worker}};
  if (r.status == ResultStatus::error) out.emplace_back("error", r.error);
  if (r.status != ResultStatus::ok) return out;
  const Classification& c = r.result;
  json nb = json::array();
  for (const auto& n : c.neighbors) nb.push_back({n.index, n.label, n.distance});
  out.emplace_back("answer", json{{"label", c.label},
                                  {"confidence", c.confidence},
                                  {"known", c.known},
                                  {"nearest", c.nearest},
                                  {"ratio", c.ratio},
                                  {"umap", {c.umap_x, c.umap_y}},
                                  {"neighbors", nb}}
                                 .dump());
  json rec{{"w", r.source_width},
           {"h", r.source_height},
           {"hash", hex64(r.content_hash)},
           {"landmarks", r.crop.landmarks_found}};
  if (r.crop.box) rec["box"] = {r.crop.box->x, r.crop.box->y, r.crop.box->width, r.crop.box->height};
  out.emplace_back("record", rec.dump());
  if (r.crop.vector.empty()) {
    out.emplace_back("pixels", bytes_of(r.crop.pixels.data(), r.crop.pixels.size()));
  } else {
    out.emplace_back("vector", bytes_of(r.crop.vector.data(), r.crop.vector.size() * sizeof(float)));
    out.emplace_back("thumb", bytes_of(r.crop.thumbnail.data(), r.crop.thumbnail.size()));
  }
  if (!r.reduced.empty()) out.emplace_back("reduced", bytes_of(r.reduced.data(), r.reduced.size() * sizeof(float)));
  return out;
}

ResultEntry decode_result(const std::string& id, const StreamFields& fields) {
  const Fields f(id, fields);
  ResultEntry r;
  r.frame_id = f.get("frame");
  r.name = f.get("name");
  r.face = static_cast<int>(f.integer("face"));
  r.faces = static_cast<int>(f.integer("faces"));
  r.published_ms = f.integer("published");
  if (const auto* w = f.find("worker")) r.worker = *w;
  const std::string& st = f.get("status");
  if (st == "error") {
    r.status = ResultStatus::error;
    r.error = f.get("error");
    return r;
  }
  if (st == "noface") {
    r.status = ResultStatus::noface;
    return r;
  }
  if (st != "ok") throw CodecError("entry " + id + ": unknown status '" + st + "'");
  if (r.face < 0) throw CodecError("entry " + id + ": an answer without a face index");
  try {
    const json a = json::parse(f.get("answer"));
    Classification& c = r.result;
    c.label = a.at("label").get<int>();
    c.confidence = a.at("confidence").get<float>();
    c.known = a.at("known").get<bool>();
    c.nearest = a.at("nearest").get<float>();
    c.ratio = a.at("ratio").get<float>();
    c.umap_x = a.at("umap").at(0).get<float>();
    c.umap_y = a.at("umap").at(1).get<float>();
    for (const auto& n : a.at("neighbors"))
      c.neighbors.push_back({n.at(0).get<int>(), n.at(1).get<int>(), n.at(2).get<float>()});
    const json rec = json::parse(f.get("record"));
    r.source_width = rec.at("w").get<uint32_t>();
    r.source_height = rec.at("h").get<uint32_t>();
    r.content_hash = parse_hex64(rec.at("hash").get<std::string>(), id);
    r.crop.landmarks_found = rec.at("landmarks").get<bool>();
    if (rec.contains("box")) {
      const auto& b = rec["box"];
      r.crop.box = FaceBox{b.at(0).get<int>(), b.at(1).get<int>(), b.at(2).get<int>(), b.at(3).get<int>()};
    }
  } catch (const json::exception& e) {
    throw CodecError("entry " + id + ": bad answer or record: " + e.what());
  }
  r.crop.face_index = r.face;
  if (const auto* px = f.find("pixels")) {
    r.crop.pixels.assign(px->begin(), px->end());
  } else {
    r.crop.vector = vec_of<float>(f.get("vector"), id, "vector");
    r.crop.thumbnail = vec_of<uint8_t>(f.get("thumb"), id, "thumb");
  }
  if (const auto* red = f.find("reduced")) r.reduced = vec_of<float>(*red, id, "reduced");
  return r;
}

ResultEntry error_result(const FrameEntry& frame, const std::string& why, const std::string& worker) {
  ResultEntry e;
  e.frame_id = frame.id;
  e.name = frame.name;
  e.worker = worker;
  e.published_ms = frame.published_ms;
  e.status = ResultStatus::error;
  e.error = why;
  return e;
}

std::vector<ResultEntry> results_of(const FrameEntry& frame, const FrameResult& r, std::vector<FaceAnswer>& answers,
                                    const std::string& worker) {
  if (!r.ok()) return {error_result(frame, r.error, worker)};
  std::vector<ResultEntry> out;
  if (r.faces.empty()) {
    ResultEntry e = error_result(frame, "", worker);
    e.status = ResultStatus::noface;
    e.error.clear();
    return {e};
  }
  for (size_t i = 0; i < r.faces.size(); ++i) {
    ResultEntry e;
    e.frame_id = frame.id;
    e.name = frame.name;
    e.worker = worker;
    e.published_ms = frame.published_ms;
    e.face = r.faces[i].face_index;
    e.faces = static_cast<int>(r.faces.size());
    e.result = answers.at(i).answer.result;
    e.source_width = r.source_width;
    e.source_height = r.source_height;
    e.content_hash = r.content_hash;
    e.crop = r.faces[i];
    e.crop.chip = cv::Mat();
    e.reduced = std::move(answers[i].reduced);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace lumaflow
