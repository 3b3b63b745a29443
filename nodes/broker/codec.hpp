// Codec: what travels through the streams, as flat Redis stream fields.
//
// Frame entry (stream `frames`, one per frame; its Redis entry id is the frame id):
//   name      the frame's name (relative path at the publisher)
//   bytes     the file's bytes — or path: a file on storage shared by publisher and workers
//   hash      XXH3-64 of the bytes, 16 hex digits (the worker checks it: a damaged frame is an
//             error result, not a wrong answer)
//   captured  capture time (file mtime), ms since the epoch
//   published publish time, ms since the epoch (for the broker's overhead)
// Result entry (stream `results`; idempotent key: frame id + face index):
//   frame, name, face (index; -1 for a frame-level entry), faces (how many the frame has),
//   status    ok | noface | error; error (text) for status error
//   answer    the classification (JSON: label, confidence, known, nearest, ratio, umap,
//             neighbours) — the face's answer line is made from it by the collector, which adds
//             the proposed identity
//   record    the store record: source size, content hash, box, landmark flag (JSON)
//   pixels | vector + thumb   the face's embedding bytes (N² luminance bytes, or float32 LE)
//   reduced   float32 LE: the face's reduced-space vector (unknown faces: the open set's input)
//   published, worker         publish time (ms) and the consumer that answered
// decode_* throw CodecError naming the entry id and the missing or bad field.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "nodes/image/embed.hpp"
#include "nodes/model/answer.hpp"

namespace lumaflow {

struct CodecError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using StreamFields = std::vector<std::pair<std::string, std::string>>;

struct FrameEntry {
  std::string id;  // Redis entry id (empty before XADD)
  std::string name;
  std::vector<uint8_t> bytes;  // inline bytes, or
  std::string shared_path;     // a path on shared storage
  uint64_t hash = 0;           // XXH3-64 of the bytes
  int64_t captured_ms = 0, published_ms = 0;
};

StreamFields encode_frame(const FrameEntry& f);
FrameEntry decode_frame(const std::string& id, const StreamFields& fields);

enum class ResultStatus { ok, noface, error };

struct ResultEntry {
  std::string frame_id, name, worker;
  int face = -1;  // -1: frame-level (noface, error)
  int faces = 0;
  ResultStatus status = ResultStatus::ok;
  std::string error;
  int64_t published_ms = 0;
  // status ok:
  Classification result;
  uint32_t source_width = 0, source_height = 0;
  uint64_t content_hash = 0;
  FaceCrop crop;               // pixels or vector + thumbnail, face index, box, landmark flag
  std::vector<float> reduced;  // unknown faces
};

StreamFields encode_result(const ResultEntry& r);
ResultEntry decode_result(const std::string& id, const StreamFields& fields);

// The result entries of one processed frame: one per face, or one frame-level entry.
std::vector<ResultEntry> results_of(const FrameEntry& frame, const FrameResult& r, std::vector<FaceAnswer>& answers,
                                    const std::string& worker);
ResultEntry error_result(const FrameEntry& frame, const std::string& why, const std::string& worker);

// [field, value, ...] as a Redis command's arguments.
void append_fields(std::vector<std::string>& args, const StreamFields& fields);

}  // namespace lumaflow
