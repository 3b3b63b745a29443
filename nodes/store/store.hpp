// Embedding store: what was embedded, kept in memory (EmbeddingStore) and on disk (schemas/store.fbs).
//
// An EmbeddingStore holds a header (how the vectors were made, label names) and records. A record
// is a pixel embedding (N² luminance bytes; vector = byte / 255, nodes/core/pixels.hpp) or a
// learned one (`dims` floats plus a small thumbnail of the face). Rows read from a file point
// into its memory map (nodes/core/mapped_file.hpp) rather than being copied, so a store of
// 100,000 faces costs its file's pages, paged in on demand; rows added in memory live in the
// store's own blocks. matrix() copies every row into an n × dims float matrix — for small sets;
// large ones read rows one by one (row(), pixels(), vector()).
//
// Files (format 2, see schemas/store.fbs; format 1 files are still read):
//  - write_store() writes a whole new store atomically (temp, fsync, rename, fsync directory);
//  - StoreWriter streams a new store in segments of bounded size, atomically committed;
//  - StoreAppender appends segments to an existing (or new) store, each durable (fsync) when
//    flush() returns; it holds the store's lock (nodes/store/lock.hpp) while open;
//  - load_store() checks every segment (frame checksum + FlatBuffers Verifier + sizes). Damage
//    anywhere loses only the damaged segments: the reader resynchronises on the next intact
//    segment, and reports each damaged byte range. A file whose header segment is damaged, or
//    that is not a store, is refused with a StoreError naming the path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "nodes/core/atomic_file.hpp"
#include "nodes/core/mapped_file.hpp"
#include "nodes/core/matrix.hpp"
#include "nodes/core/rows.hpp"
#include "nodes/store/lock.hpp"

namespace lumaflow {

inline constexpr uint32_t kStoreFormatVersion = 2;

struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// How the vectors were made. Two stores (or a store and a model) are compatible when equal.
struct Preprocessing {
  int image_size = 128;
  std::string grayscale = "ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B)";
  std::string interpolation = "area when shrinking, bilinear when enlarging";
  std::string aspect = "stretch";    // stretch | crop
  std::string face_mode = "asis";    // asis | detect | align
  std::string equalize = "none";     // none | hist | clahe
  std::string embedding = "pixels";  // pixels | a learned embedding (e.g. resnet)
  int dims = 0;                      // vector length; 0: image_size² (pixels)
  std::string embedding_model;       // learned: which weights
  std::string chip;                  // learned: how the face chip was cut
  bool operator==(const Preprocessing&) const = default;
  bool learned() const { return embedding != "pixels"; }
  int vector_dims() const { return dims > 0 ? dims : image_size * image_size; }
  // Empty when compatible, else a sentence naming the first difference.
  std::string difference(const Preprocessing& other) const;
};

struct StoreHeader {
  uint32_t format_version = kStoreFormatVersion;
  Preprocessing prep;
  std::vector<std::string> labels;
  std::string created_by;
  int thumbnail_size = 0;      // learned records: side of each thumbnail (0: none)
  int thumbnail_channels = 0;  // 1 (grey) or 3 (BGR)
};

struct FaceBox {
  int x = 0, y = 0, width = 0, height = 0;
};

// One embedded face. Its vector is kept by the store, not here.
struct RecordInfo {
  std::string path;  // relative to the input root, '/' separated
  int label = -1;
  uint32_t source_width = 0, source_height = 0;
  uint64_t content_hash = 0;
  int face_index = 0;
  std::optional<FaceBox> box;
  bool landmarks_found = false;
};

// A face picture to draw (atlas, reports): pixel records show their N×N luminance; learned
// records their stored thumbnail. data == nullptr when the store has none.
struct Thumbnail {
  const uint8_t* data = nullptr;
  int side = 0, channels = 0;
};

class EmbeddingStore {
 public:
  EmbeddingStore() = default;
  explicit EmbeddingStore(StoreHeader header) : header_(std::move(header)) {}
  EmbeddingStore(const EmbeddingStore& other);  // deep copy of owned rows; mapped rows shared
  EmbeddingStore& operator=(const EmbeddingStore& other);
  EmbeddingStore(EmbeddingStore&&) noexcept = default;
  EmbeddingStore& operator=(EmbeddingStore&&) noexcept = default;

  const StoreHeader& header() const { return header_; }
  StoreHeader& header() { return header_; }
  bool learned() const { return header_.prep.learned(); }
  int image_size() const { return header_.prep.image_size; }
  size_t dims() const { return static_cast<size_t>(header_.prep.vector_dims()); }
  size_t size() const { return records_.size(); }
  bool empty() const { return records_.empty(); }

  const RecordInfo& record(size_t i) const { return records_.at(i); }
  const std::vector<RecordInfo>& records() const { return records_; }
  // Pixel stores: the N² luminance bytes of record i. Learned stores: std::logic_error.
  const uint8_t* pixels(size_t i) const;
  // Learned stores: the dims() floats of record i. Pixel stores: std::logic_error.
  const float* vector(size_t i) const;
  // Either kind: record i as dims() floats (pixels through nodes/core/pixels.hpp).
  void row(size_t i, float* out) const;
  Thumbnail thumbnail(size_t i) const;

  // Appends a pixel record; `count` must be dims() (std::invalid_argument otherwise, also for an
  // unknown label index or a learned store).
  void add(RecordInfo info, const uint8_t* pixels, size_t count);
  // Appends a learned record: dims() floats and, when the header declares thumbnails, exactly
  // thumbnail_size² × channels bytes.
  void add(RecordInfo info, const float* vector, size_t count, const uint8_t* thumbnail, size_t thumbnail_bytes);
  // Label index for a name, adding it to the header when new.
  int label_index(const std::string& name);

  // n × dims floats: the one copy the numerics of small sets need.
  RowMatrixF matrix() const;
  // The same values read on demand, a span at a time, from the rows where they lie (the file's
  // map or the store's blocks): what large sets stream through (PCA). A view of this store.
  RowSource rows() const;
  // Per-record labels (-1 = unlabelled).
  Labels labels() const;

  // Keeps the memory map that rows added by add_mapped() point into.
  void keep_mapping(std::shared_ptr<const MappedFile> map) { maps_.push_back(std::move(map)); }
  // Appends a record whose bytes stay where they are (in a kept mapping); checked like add().
  void add_mapped(RecordInfo info, const uint8_t* row, const uint8_t* thumbnail);

 private:
  size_t row_bytes() const { return dims() * (learned() ? sizeof(float) : 1); }
  size_t thumbnail_bytes() const;
  void check_record(const RecordInfo& info) const;
  uint8_t* allocate(size_t bytes);

  StoreHeader header_;
  std::vector<RecordInfo> records_;
  std::vector<const uint8_t*> rows_;
  std::vector<const uint8_t*> thumbs_;
  std::vector<std::unique_ptr<uint8_t[]>> blocks_;
  size_t block_left_ = 0;
  uint8_t* block_next_ = nullptr;
  std::vector<std::shared_ptr<const MappedFile>> maps_;
};

// One damaged stretch of a store file; its segments were dropped.
struct DamagedRange {
  uint64_t offset = 0, length = 0;
  std::string reason;
};

struct LoadReport {
  uint32_t format_version = 0;
  size_t segments = 0;    // intact segments read
  uint64_t bytes_ok = 0;  // length of the intact prefix
  uint64_t file_size = 0;
  std::vector<DamagedRange> damaged;      // every stretch that was skipped
  std::optional<uint64_t> second_header;  // offset of a second header: the store ended there
  std::optional<std::string> damage;      // one-line summary of the above, when anything was wrong
  bool intact() const { return !damage; }
};

// True when the file starts like a store (format 2 or 1); says nothing about its integrity.
bool is_store_file(const std::filesystem::path& path);

// Loads and checks a store. Throws StoreError (with the path) when the file is missing,
// unreadable, not a store, or its header is damaged.
EmbeddingStore load_store(const std::filesystem::path& path, LoadReport* report = nullptr);

// Writes the whole store atomically, records in segments of at most `max_segment_bytes` of
// vectors (and at least one record a segment).
void write_store(const std::filesystem::path& path, const EmbeddingStore& store,
                 size_t max_segment_bytes = size_t{1} << 20);

// What repair_store did: the damaged file moved aside and a clean copy written in its place.
struct RepairReport {
  std::filesystem::path moved_to;  // the damaged original, kept
  size_t records_kept = 0;
  LoadReport load;              // what was damaged
  std::string summary() const;  // one line
};

// Loads `path`; if it is damaged (or format 1), moves it to PATH.damaged-<UTC time> (format 1:
// PATH.v1) and writes every intact record to PATH in format 2. Returns nullopt when there was
// nothing to repair. Never deletes data.
std::optional<RepairReport> repair_store(const std::filesystem::path& path);

// Appends records to a store file, creating it (with the header) when absent. An existing file
// must have the same preprocessing; a damaged or format-1 file is first repaired (repair_store,
// reported by repaired()). Holds the store's lock from construction to close(): a second writer
// gets a StoreError naming the process that holds it.
class StoreAppender {
 public:
  StoreAppender(const std::filesystem::path& path, const StoreHeader& header);
  ~StoreAppender();
  StoreAppender(const StoreAppender&) = delete;
  StoreAppender& operator=(const StoreAppender&) = delete;

  // Label index in the file's label table, adding the name when new.
  int label_index(const std::string& name);
  void add(RecordInfo info, const uint8_t* pixels, size_t count);
  void add(RecordInfo info, const float* vector, size_t count, const uint8_t* thumbnail, size_t thumbnail_bytes);
  // Writes pending records as one segment and fsyncs; durable when it returns. On a write error
  // (disk full) the partial segment is cut off again, the pending records are dropped and
  // StoreError is thrown: the file keeps exactly the records of earlier flushes.
  void flush();
  // Cuts the segment written by the last flush() off again (fsynced), e.g. when the answers for
  // its records could not be delivered: the file holds exactly the records of the flushes
  // before it. Returns the number of records removed (0 when there is nothing to undo).
  size_t undo_last_flush();
  size_t pending() const { return pending_.size(); }
  size_t total_records() const { return total_; }
  const std::optional<RepairReport>& repaired() const { return repaired_; }
  const std::vector<std::string>& labels() const { return pending_.header().labels; }
  // Flushes and closes the file, releasing the lock; further use throws.
  void close();

 private:
  std::filesystem::path path_;
  std::unique_ptr<FileLock> lock_;
  int fd_ = -1;
  uint64_t size_ = 0;       // bytes known to be intact on disk
  uint64_t sequence_ = 0;   // of the last segment written
  EmbeddingStore pending_;  // its header holds the current label table
  size_t labels_written_ = 0;
  size_t total_ = 0;
  std::optional<RepairReport> repaired_;
  struct Undo {  // the state before the last flush
    uint64_t size = 0, sequence = 0;
    size_t labels_written = 0, total = 0;
  };
  std::optional<Undo> undo_;
};

// Streams a new store: records go to a temporary file in segments of bounded size as they come
// (memory stays flat); commit() makes it the store at PATH atomically. Destroyed without
// commit(), it removes the temporary file and leaves any existing PATH untouched.
class StoreWriter {
 public:
  StoreWriter(const std::filesystem::path& path, const StoreHeader& header, size_t max_segment_bytes = size_t{1} << 20);
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  void add(RecordInfo info, const uint8_t* pixels, size_t count);
  void add(RecordInfo info, const float* vector, size_t count, const uint8_t* thumbnail, size_t thumbnail_bytes);
  size_t size() const { return written_ + pending_.size(); }
  void commit();

 private:
  void write_pending();
  std::filesystem::path path_;
  size_t max_segment_bytes_;
  EmbeddingStore pending_;
  size_t written_ = 0;
  uint64_t sequence_ = 0;
  std::unique_ptr<AtomicFile> file_;
};

}  // namespace lumaflow
