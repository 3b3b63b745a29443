// Embedding store: append-only file of size-prefixed FlatBuffers segments (schemas/store.fbs).
//
// An EmbeddingStore holds a header (how pixels were made, label names) and records; all pixels
// live in one contiguous n × N² byte buffer so matrix() gives the numeric nodes an n × N² float
// matrix (pixel / 255) in a single copy. Files:
//  - write_store() writes a whole new store to PATH.tmp, fsyncs and renames it into place;
//  - StoreAppender appends segments to an existing (or new) store, fsync per flush;
//  - load_store() verifies every segment (FlatBuffers Verifier + checksum). A damaged or
//    truncated tail is reported with its byte offset and the intact segments before it are kept;
//    a file whose first segment is invalid is refused with a StoreError naming the path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "nodes/core/atomic_file.hpp"
#include "nodes/core/matrix.hpp"

namespace lumaflow {

inline constexpr uint32_t kStoreFormatVersion = 1;

struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// How the pixels were made. Two stores (or a store and a model) are compatible when equal.
struct Preprocessing {
  int image_size = 128;
  std::string grayscale = "ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B)";
  std::string interpolation = "area when shrinking, bilinear when enlarging";
  std::string aspect = "stretch";  // stretch | crop
  std::string face_mode = "asis";  // asis | detect | align
  std::string equalize = "none";   // none | hist | clahe
  bool operator==(const Preprocessing&) const = default;
  // Empty when compatible, else a sentence naming the first difference.
  std::string difference(const Preprocessing& other) const;
};

struct StoreHeader {
  uint32_t format_version = kStoreFormatVersion;
  Preprocessing prep;
  std::vector<std::string> labels;
  std::string created_by;
};

struct FaceBox {
  int x = 0, y = 0, width = 0, height = 0;
};

// One embedded face. Pixels are kept by the store, not here.
struct RecordInfo {
  std::string path;  // relative to the input root, '/' separated
  int label = -1;
  uint32_t source_width = 0, source_height = 0;
  uint64_t content_hash = 0;
  int face_index = 0;
  std::optional<FaceBox> box;
  bool landmarks_found = false;
};

class EmbeddingStore {
 public:
  EmbeddingStore() = default;
  explicit EmbeddingStore(StoreHeader header) : header_(std::move(header)) {}

  const StoreHeader& header() const { return header_; }
  StoreHeader& header() { return header_; }
  int image_size() const { return header_.prep.image_size; }
  size_t dims() const { return static_cast<size_t>(image_size()) * static_cast<size_t>(image_size()); }
  size_t size() const { return records_.size(); }
  bool empty() const { return records_.empty(); }

  const RecordInfo& record(size_t i) const { return records_.at(i); }
  const std::vector<RecordInfo>& records() const { return records_; }
  const uint8_t* pixels(size_t i) const { return pixels_.data() + i * dims(); }
  const std::vector<uint8_t>& all_pixels() const { return pixels_; }

  // Appends a record; pixels must hold dims() bytes. Throws std::invalid_argument otherwise.
  void add(RecordInfo info, const uint8_t* pixels, size_t count);
  // Label index for a name, adding it to the header when new.
  int label_index(const std::string& name);

  // n × N² floats in [0, 1] (pixel / 255): the one copy the numerics need.
  RowMatrixF matrix() const;
  // Per-record labels (-1 = unlabelled).
  Labels labels() const;

 private:
  StoreHeader header_;
  std::vector<RecordInfo> records_;
  std::vector<uint8_t> pixels_;
};

struct LoadReport {
  size_t segments = 0;
  size_t bytes_ok = 0;                // length of the intact prefix
  std::optional<std::string> damage;  // what was wrong with the tail, with its offset
};

// Loads and verifies a store. Throws StoreError (with the path) when the file is missing,
// unreadable or invalid from its first segment on.
EmbeddingStore load_store(const std::filesystem::path& path, LoadReport* report = nullptr);

// Writes the whole store atomically: PATH.tmp, fsync, rename. Records are written in
// segments of at most `records_per_segment`.
void write_store(const std::filesystem::path& path, const EmbeddingStore& store, size_t records_per_segment = 4096);

// Appends records to a store file, creating it (with the header) when absent. An existing
// file must have the same preprocessing; a damaged tail is cut off (after the intact
// segments) before appending, and reported by damage().
class StoreAppender {
 public:
  StoreAppender(const std::filesystem::path& path, const StoreHeader& header);
  ~StoreAppender();
  StoreAppender(const StoreAppender&) = delete;
  StoreAppender& operator=(const StoreAppender&) = delete;

  // Label index in the file's label table, adding the name when new.
  int label_index(const std::string& name);
  void add(RecordInfo info, const uint8_t* pixels, size_t count);
  // Writes pending records as one segment and fsyncs. No-op when nothing is pending.
  void flush();
  size_t pending() const { return pending_.size(); }
  size_t total_records() const { return total_; }
  const std::optional<std::string>& damage() const { return damage_; }
  const std::vector<std::string>& labels() const { return labels_; }
  // Flushes and closes the file; further use throws.
  void close();

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  int image_size_ = 0;
  std::vector<std::string> labels_;
  size_t labels_written_ = 0;
  EmbeddingStore pending_;
  size_t total_ = 0;
  std::optional<std::string> damage_;
};

// Streams a new store: records go to PATH.tmp in segments as they come (memory stays flat);
// commit() fsyncs and renames it into place. Destroyed without commit(), it removes the temp
// file and leaves any existing PATH untouched.
class StoreWriter {
 public:
  StoreWriter(const std::filesystem::path& path, const StoreHeader& header, size_t records_per_segment = 1024);
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  void add(RecordInfo info, const uint8_t* pixels, size_t count);
  size_t size() const { return written_ + pending_.size(); }
  void commit();

 private:
  void write_pending();
  std::filesystem::path path_;
  size_t per_segment_;
  EmbeddingStore pending_;
  size_t written_ = 0;
  bool header_written_ = false;
  std::unique_ptr<AtomicFile> file_;
};

}  // namespace lumaflow
