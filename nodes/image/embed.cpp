#include "nodes/image/embed.hpp"

#include <stdexcept>

#include "nodes/core/hash.hpp"
#include "nodes/core/pixels.hpp"
#include "nodes/image/faces.hpp"
#include "nodes/image/luminance.hpp"
#include "nodes/learned/resnet.hpp"

#include <opencv2/imgproc.hpp>

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

Embedding parse_embedding(const std::string& s) {
  if (s == "pixels") return Embedding::pixels;
  if (s == "resnet") return Embedding::resnet;
  throw std::invalid_argument("unknown embedding '" + s + "' (expected pixels or resnet)");
}

const char* embedding_name(Embedding e) { return e == Embedding::resnet ? "resnet" : "pixels"; }

namespace {

constexpr const char* kResnetModelName =
    "dlib_face_recognition_resnet_model_v1 (@vladmandic/face-api 1.7.15 face_recognition_model.bin)";

std::string chip_description(FaceMode faces, Aspect aspect, bool grey) {
  std::string s = faces == FaceMode::asis ? std::string("whole image resized to 150x150 (") + aspect_name(aspect) + ")"
                                          : "dlib face chip 150x150, padding 0.25, from 68 landmarks";
  return s + (grey ? ", grey" : ", rgb");
}

}  // namespace

Preprocessing EmbedOptions::preprocessing() const {
  Preprocessing p;
  p.image_size = embedding == Embedding::resnet ? kDescriptorChip : size;
  p.aspect = aspect_name(aspect);
  p.face_mode = face_mode_name(faces);
  p.equalize = equalize_name(equalize);
  if (embedding == Embedding::resnet) {
    p.embedding = embedding_name(embedding);
    p.dims = kDescriptorSize;
    p.embedding_model = kResnetModelName;
    p.chip = chip_description(faces, aspect, chip_grey);
  }
  return p;
}

EmbedOptions EmbedOptions::from(const Preprocessing& p) {
  EmbedOptions o;
  o.embedding = parse_embedding(p.embedding);
  o.aspect = parse_aspect(p.aspect);
  o.faces = parse_face_mode(p.face_mode);
  o.equalize = parse_equalize(p.equalize);
  if (o.embedding == Embedding::resnet) {
    o.chip_grey = p.chip.size() >= 4 && p.chip.compare(p.chip.size() - 4, 4, "grey") == 0;
    if (p.embedding_model != kResnetModelName)
      throw std::invalid_argument("embedding model '" + p.embedding_model + "' is not the one this build has (" +
                                  kResnetModelName + ")");
  } else {
    o.size = p.image_size;
  }
  return o;
}

DecodeOptions EmbedOptions::decode_options() const {
  DecodeOptions d;
  d.target_size = embedding == Embedding::resnet ? kDescriptorChip : size;
  d.crop = aspect == Aspect::crop;
  d.max_megapixels = max_megapixels;
  // Detection needs the frame at full resolution: a face is a small part of it.
  d.reduced_jpeg = reduced_jpeg && faces == FaceMode::asis;
  d.color = embedding == Embedding::resnet;
  return d;
}

void read_stage(FrameWork& w, const EmbedOptions& opt) {
  if (!w.preloaded) w.bytes = read_bytes(w.result.entry.path, opt.max_file_bytes);
  w.result.content_hash = hash_bytes(w.bytes.data(), w.bytes.size());
}

void decode_stage(FrameWork& w, const EmbedOptions& opt) {
  w.decoded = decode_image(w.bytes, opt.decode_options());
  w.result.source_width = w.decoded.source_width;
  w.result.source_height = w.decoded.source_height;
  w.bytes.clear();
  w.bytes.shrink_to_fit();
}

namespace {

// Decoded image (grey, BGR or BGRA; 8 or 16 bit) -> 8-bit BGR.
cv::Mat to_bgr8(const cv::Mat& img) {
  cv::Mat m = img;
  if (m.depth() == CV_16U) m.convertTo(m, CV_8U, 1.0 / 257.0);
  cv::Mat bgr;
  if (m.channels() == 1)
    cv::cvtColor(m, bgr, cv::COLOR_GRAY2BGR);
  else if (m.channels() == 4)
    cv::cvtColor(m, bgr, cv::COLOR_BGRA2BGR);
  else
    bgr = m;
  return bgr;
}

}  // namespace

void faces_stage(FrameWork& w, const EmbedOptions& opt, const FaceTools* tools, const ForEach& each) {
  const bool learned = opt.embedding == Embedding::resnet;
  if (opt.faces == FaceMode::asis) {
    FaceCrop crop;
    if (learned) {
      // The whole image is the face (a crop): resized to the chip as is, like face-api's reference.
      cv::cvtColor(resize_square(to_bgr8(w.decoded.image), kDescriptorChip, opt.aspect), crop.chip, cv::COLOR_BGR2RGB);
    } else {
      cv::Mat img = resize_square(to_luminance(w.decoded.image), opt.size, opt.aspect);
      if (opt.equalize != EqualizeMode::none) img = equalize(img, opt.equalize);
      crop.pixels = flatten(img);
    }
    w.result.faces.push_back(std::move(crop));
  } else {
    if (!tools) throw std::logic_error("face mode " + std::string(face_mode_name(opt.faces)) + " needs face tools");
    const cv::Mat gray = to_luminance(w.decoded.image);
    w.result.faces = learned
                         ? tools->chips(w.decoded.image.depth() == CV_8U ? w.decoded.image : to_bgr8(w.decoded.image),
                                        gray, w.decoded.reduction, each)
                         : tools->faces(gray, w.decoded.reduction, opt);
  }
  w.decoded = {};
}

void describe_stage(FrameWork& w, const EmbedOptions& opt, const FaceTools* tools, const ForEach& each) {
  if (opt.embedding != Embedding::resnet || w.result.faces.empty()) return;
  const FaceDescriptorNet* net = tools ? tools->net() : nullptr;
  if (!net) throw std::logic_error("the resnet embedding needs face tools holding the network");
  // Faces are independent and a descriptor does not depend on which engine or thread ran it.
  for_each(each, static_cast<std::ptrdiff_t>(w.result.faces.size()), [&](std::ptrdiff_t i) {
    FaceCrop& f = w.result.faces[static_cast<size_t>(i)];
    if (opt.chip_grey) {
      cv::Mat g;
      cv::cvtColor(f.chip, g, cv::COLOR_RGB2GRAY);  // BT.601 weights
      cv::cvtColor(g, f.chip, cv::COLOR_GRAY2RGB);
    }
    const FaceDescriptor d = net->describe(f.chip);
    f.vector.assign(d.begin(), d.end());
    cv::Mat thumb, bgr;
    cv::resize(f.chip, thumb, cv::Size(kThumbnailSide, kThumbnailSide), 0, 0, cv::INTER_AREA);
    cv::cvtColor(thumb, bgr, cv::COLOR_RGB2BGR);
    f.thumbnail.assign(bgr.data, bgr.data + bgr.total() * bgr.elemSize());
    f.chip.release();
  });
}

RowMatrixF face_row(const FaceCrop& face) {
  if (!face.vector.empty())
    return Eigen::Map<const RowMatrixF>(face.vector.data(), 1, static_cast<Eigen::Index>(face.vector.size()));
  RowMatrixF row(1, static_cast<Eigen::Index>(face.pixels.size()));
  pixels_to_row(face.pixels.data(), face.pixels.size(), row.data());
  return row;
}

StoreHeader make_header(const Preprocessing& prep, const std::vector<std::string>& labels, const std::string& by) {
  StoreHeader h;
  h.prep = prep;
  h.labels = labels;
  h.created_by = std::string("lumaflow ") + LUMAFLOW_VERSION + (by.empty() ? "" : " " + by);
  if (h.prep.learned()) {
    h.thumbnail_size = kThumbnailSide;
    h.thumbnail_channels = 3;
  }
  return h;
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
  run_stage(w, [&](FrameWork& x) { describe_stage(x, opt, tools); });
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
  run_stage(w, [&](FrameWork& x) { describe_stage(x, opt, tools); });
  return std::move(w.result);
}

}  // namespace lumaflow
