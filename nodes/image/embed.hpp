// Embed: the per-frame stages that turn one image file into 0..k face embeddings.
//
//   pixels: read (bytes + content hash) -> decode -> [detect -> align] -> luminance -> resize
//   resnet: read -> decode (colour) -> [detect -> 68 landmarks] -> 150×150 RGB chip -> describe
//           (the learned 128-d descriptor, nodes/learned/resnet.hpp) + a small colour thumbnail
//
// Each stage is a plain function on a FrameWork value, so the oneTBB graph (flow/ingest) can
// run them as separate nodes while process_frame() runs them in a plain loop — the reference
// the graph is tested against byte for byte. A stage that fails throws; the caller records the
// reason in FrameResult::error and forwards the frame anyway (one message per frame, always).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "nodes/core/parallel.hpp"
#include "nodes/image/decode.hpp"
#include "nodes/image/equalize.hpp"
#include "nodes/image/resize.hpp"
#include "nodes/image/scan.hpp"
#include "nodes/store/store.hpp"

namespace lumaflow {

enum class FaceMode { asis, detect, align };
FaceMode parse_face_mode(const std::string& s);  // asis | detect | align
const char* face_mode_name(FaceMode m);

using EqualizeMode = Equalize;                      // none | hist | clahe (nodes/equalize.hpp)
EqualizeMode parse_equalize(const std::string& s);  // none | hist | clahe
const char* equalize_name(EqualizeMode m);

// What a face becomes: its own N×N luminance pixels (the project's question) or dlib's learned
// 128-d ResNet descriptor of its aligned colour chip.
enum class Embedding { pixels, resnet };
Embedding parse_embedding(const std::string& s);  // pixels | resnet
const char* embedding_name(Embedding e);

// Learned records keep a thumbnail of the face for the atlas, annotations and export.
inline constexpr int kThumbnailSide = 32;  // px, BGR

struct EmbedOptions {
  Embedding embedding = Embedding::pixels;
  int size = 128;  // N (pixels); resnet chips are always 150×150
  Aspect aspect = Aspect::stretch;
  bool reduced_jpeg = true;       // DCT-scaled JPEG decode when big enough
  double max_megapixels = 100.0;  // refuse larger images before decoding
  uint64_t max_file_bytes = 256ull << 20;
  FaceMode faces = FaceMode::asis;
  EqualizeMode equalize = EqualizeMode::none;
  // resnet: chips converted to grey (R = G = B) before describing — set when the training faces
  // were grey, so colour frames are compared like with like (fit decides from the data).
  bool chip_grey = false;

  Preprocessing preprocessing() const;  // what the store header records
  DecodeOptions decode_options() const;
  // The inverse of preprocessing(); throws std::invalid_argument for values this build can't make.
  static EmbedOptions from(const Preprocessing& p);
};

// Detector and aligner for FaceMode::detect/align, loaded once and shared read-only by all
// threads (defined in nodes/faces.hpp).
class FaceTools;

struct FaceCrop {
  std::vector<uint8_t> pixels;  // pixels: N×N luminance
  int face_index = 0;
  std::optional<FaceBox> box;  // in source-frame pixels; absent for whole images
  bool landmarks_found = false;
  cv::Mat chip;                    // resnet: the 150×150 RGB chip, until describe_stage
  std::vector<float> vector;       // resnet: the 128-d descriptor
  std::vector<uint8_t> thumbnail;  // resnet: kThumbnailSide² BGR bytes
};

struct FrameResult {
  uint64_t seq = 0;
  ScanEntry entry;
  uint32_t source_width = 0, source_height = 0;
  uint64_t content_hash = 0;
  std::vector<FaceCrop> faces;  // empty on error or when no face was found
  std::string error;            // empty on success
  bool ok() const { return error.empty(); }
};

// A frame in flight through the stages.
struct FrameWork {
  std::vector<uint8_t> bytes;
  bool preloaded = false;  // bytes already in memory (a frame from the broker): read_stage only hashes them
  DecodedImage decoded;
  FrameResult result;
};

void read_stage(FrameWork& w, const EmbedOptions& opt);
void decode_stage(FrameWork& w, const EmbedOptions& opt);
// `each` (nodes/core/parallel.hpp) spreads one frame's work over threads — resnet chips:
// detection, then the faces — with the same result as the default, in order on this thread.
void faces_stage(FrameWork& w, const EmbedOptions& opt, const FaceTools* tools, const ForEach& each = {});
// resnet: each face's chip -> descriptor + thumbnail (the chip is released), the faces spread
// over `each`; pixels: nothing.
void describe_stage(FrameWork& w, const EmbedOptions& opt, const FaceTools* tools, const ForEach& each = {});

// Runs a stage, turning an exception into w.result.error (stages after a failure are skipped).
template <class Stage>
void run_stage(FrameWork& w, Stage&& stage) {
  if (!w.result.ok()) return;
  try {
    stage(w);
  } catch (const std::exception& e) {
    w.result.error = e.what();
    w.bytes.clear();
    w.bytes.shrink_to_fit();
    w.decoded = {};
  }
}

// One face as the raw vector the numerics take (1 × dims): its pixels / 255 or its descriptor.
RowMatrixF face_row(const FaceCrop& face);

// The store record of one face of a frame (path, label, source size, hash, face index, box).
RecordInfo record_info(const FrameResult& frame, const FaceCrop& face);

// The header of a store of faces made with `prep` (learned records get kThumbnailSide² BGR
// thumbnails); `by` names the command after "lumaflow VERSION" (e.g. "watch").
StoreHeader make_header(const Preprocessing& prep, const std::vector<std::string>& labels, const std::string& by = "");

// Adds one face to a store, writer or appender: its pixels, or its learned vector + thumbnail.
template <class Sink>
void add_face(Sink& sink, RecordInfo info, const FaceCrop& f) {
  if (f.vector.empty())
    sink.add(std::move(info), f.pixels.data(), f.pixels.size());
  else
    sink.add(std::move(info), f.vector.data(), f.vector.size(), f.thumbnail.data(), f.thumbnail.size());
}

// The whole chain for one file, sequentially.
FrameResult process_frame(uint64_t seq, const ScanEntry& entry, const EmbedOptions& opt,
                          const FaceTools* tools = nullptr);

// Embeds in-memory bytes (classify of a single file, tests).
FrameResult process_bytes(std::vector<uint8_t> bytes, const std::string& name, const EmbedOptions& opt,
                          const FaceTools* tools = nullptr);

}  // namespace lumaflow
