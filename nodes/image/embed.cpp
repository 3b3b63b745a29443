#include "nodes/image/embed.hpp"

#include <stdexcept>

#include "nodes/core/hash.hpp"
#include "nodes/image/faces.hpp"
#include "nodes/image/luminance.hpp"

namespace lumaflow {

FaceMode parse_face_mode(const std::string& s) {
  if (s == "asis") return FaceMode::asis;
  if (s == "detect") return FaceMode::detect;
  if (s == "align") return FaceMode::align;
  throw std::invalid_argument("unknown face mode '" + s + "' (expected asis, detect or align)");
}

const char* face_mode_name(FaceMode m) {
  return m == FaceMode::detect ? "detect" : m == FaceMode::align ? "align" : "asis";
}

EqualizeMode parse_equalize(const std::string& s) {
  if (s == "none") return EqualizeMode::none;
  if (s == "hist") return EqualizeMode::hist;
  if (s == "clahe") return EqualizeMode::clahe;
  throw std::invalid_argument("unknown equalization '" + s + "' (expected none, hist or clahe)");
}

const char* equalize_name(EqualizeMode m) {
  return m == EqualizeMode::hist ? "hist" : m == EqualizeMode::clahe ? "clahe" : "none";
}

Preprocessing EmbedOptions::preprocessing() const {
  Preprocessing p;
  p.image_size = size;
  p.aspect = aspect_name(aspect);
  p.face_mode = face_mode_name(faces);
  p.equalize = equalize_name(equalize);
  return p;
}

DecodeOptions EmbedOptions::decode_options() const {
  DecodeOptions d;
  d.target_size = size;
  d.crop = aspect == Aspect::crop;
  d.max_megapixels = max_megapixels;
  // Detection needs the frame at full resolution: a face is a small part of it.
  d.reduced_jpeg = reduced_jpeg && faces == FaceMode::asis;
  return d;
}

void read_stage(FrameWork& w, const EmbedOptions& opt) {
  w.bytes = read_bytes(w.result.entry.path, opt.max_file_bytes);
  w.result.content_hash = hash_bytes(w.bytes.data(), w.bytes.size());
}

void decode_stage(FrameWork& w, const EmbedOptions& opt) {
  w.decoded = decode_image(w.bytes, opt.decode_options());
  w.result.source_width = w.decoded.source_width;
  w.result.source_height = w.decoded.source_height;
  w.bytes.clear();
  w.bytes.shrink_to_fit();
}

void faces_stage(FrameWork& w, const EmbedOptions& opt, const FaceTools* tools) {
  const cv::Mat gray = to_luminance(w.decoded.image);
  if (opt.faces == FaceMode::asis) {
    cv::Mat img = resize_square(gray, opt.size, opt.aspect);
    if (opt.equalize != EqualizeMode::none) img = equalize(img, opt.equalize);
    w.result.faces.push_back(FaceCrop{flatten(img), 0, std::nullopt, false});
  } else {
    if (!tools) throw std::logic_error("face mode " + std::string(face_mode_name(opt.faces)) + " needs face tools");
    w.result.faces = tools->faces(gray, w.decoded.reduction, opt);
  }
  w.decoded = {};
}

RecordInfo record_info(const FrameResult& frame, const FaceCrop& face) {
  RecordInfo info;
  info.path = frame.entry.rel;
  info.label = frame.entry.label;
  info.source_width = frame.source_width;
  info.source_height = frame.source_height;
  info.content_hash = frame.content_hash;
  info.face_index = face.face_index;
  info.box = face.box;
  info.landmarks_found = face.landmarks_found;
  return info;
}

FrameResult process_frame(uint64_t seq, const ScanEntry& entry, const EmbedOptions& opt, const FaceTools* tools) {
  FrameWork w;
  w.result.seq = seq;
  w.result.entry = entry;
  run_stage(w, [&](FrameWork& x) { read_stage(x, opt); });
  run_stage(w, [&](FrameWork& x) { decode_stage(x, opt); });
  run_stage(w, [&](FrameWork& x) { faces_stage(x, opt, tools); });
  return std::move(w.result);
}

FrameResult process_bytes(std::vector<uint8_t> bytes, const std::string& name, const EmbedOptions& opt,
                          const FaceTools* tools) {
  FrameWork w;
  w.result.entry.rel = name;
  w.result.entry.path = name;
  w.result.content_hash = hash_bytes(bytes.data(), bytes.size());
  w.bytes = std::move(bytes);
  run_stage(w, [&](FrameWork& x) { decode_stage(x, opt); });
  run_stage(w, [&](FrameWork& x) { faces_stage(x, opt, tools); });
  return std::move(w.result);
}

}  // namespace lumaflow
