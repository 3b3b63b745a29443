// Store files: segments in checksummed frames (format 2), the format-1 reader, writers, repair.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <sstream>

#include "nodes/core/hash.hpp"
#include "nodes/store/frame.hpp"
#include "nodes/store/store.hpp"
#include "store_generated.h"

namespace lumaflow {
namespace {

using Builder = flatbuffers::FlatBufferBuilder;
constexpr char kV1Identifier[] = "LFST";
constexpr size_t kVerifierMaxTables = 100000000;

template <class Fn>
auto as_store_error(Fn&& fn) {
  try {
    return fn();
  } catch (const FileError& e) {
    throw StoreError(e.what());
  } catch (const LockedError& e) {
    throw StoreError(e.what());
  }
}

std::string str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

flatbuffers::Offset<fb::Header> build_header(Builder& b, const StoreHeader& h) {
  std::vector<flatbuffers::Offset<flatbuffers::String>> labels;
  for (const auto& l : h.labels) labels.push_back(b.CreateString(l));
  const Preprocessing& p = h.prep;
  return fb::CreateHeader(b, kStoreFormatVersion, static_cast<uint32_t>(p.image_size), b.CreateString(p.grayscale),
                          b.CreateString(p.interpolation), b.CreateString(p.aspect), b.CreateString(p.face_mode),
                          b.CreateString(p.equalize), b.CreateVector(labels), b.CreateString(h.created_by),
                          b.CreateString(p.embedding), static_cast<uint32_t>(p.vector_dims()),
                          b.CreateString(p.embedding_model), b.CreateString(p.chip),
                          static_cast<uint32_t>(h.thumbnail_size), static_cast<uint32_t>(h.thumbnail_channels));
}

// One format-2 segment holding records [begin, end) of `store` (none for the header segment),
// framed and appended to `out`.
void append_segment(const EmbeddingStore& store, size_t begin, size_t end, bool header, uint64_t sequence,
                    std::vector<uint8_t>& out) {
  const size_t dims = store.dims();
  Builder b(1024 + (end - begin) * (dims * (store.learned() ? 4 : 1) + 256));
  std::vector<flatbuffers::Offset<fb::Record>> recs;
  recs.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) {
    const RecordInfo& r = store.record(i);
    auto path = b.CreateString(r.path);
    flatbuffers::Offset<flatbuffers::Vector<uint8_t>> px, thumb;
    flatbuffers::Offset<flatbuffers::Vector<float>> vec;
    if (store.learned()) {
      vec = b.CreateVector(store.vector(i), dims);
      const Thumbnail t = store.thumbnail(i);
      if (t.data) thumb = b.CreateVector(t.data, static_cast<size_t>(t.side * t.side * t.channels));
    } else {
      px = b.CreateVector(store.pixels(i), dims);
    }
    fb::Box box;
    if (r.box) box = fb::Box(r.box->x, r.box->y, r.box->width, r.box->height);
    fb::RecordBuilder rb(b);
    rb.add_path(path);
    rb.add_label(r.label);
    rb.add_source_width(r.source_width);
    rb.add_source_height(r.source_height);
    rb.add_content_hash(r.content_hash);
    rb.add_face_index(r.face_index);
    if (r.box) rb.add_box(&box);
    rb.add_landmarks_found(r.landmarks_found);
    if (!px.IsNull()) rb.add_pixels(px);
    if (!vec.IsNull()) rb.add_vector(vec);
    if (!thumb.IsNull()) rb.add_thumbnail(thumb);
    recs.push_back(rb.Finish());
  }
  flatbuffers::Offset<fb::Header> hdr;
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>> labels;
  if (header) {
    hdr = build_header(b, store.header());
  } else {
    std::vector<flatbuffers::Offset<flatbuffers::String>> l;
    for (const auto& name : store.header().labels) l.push_back(b.CreateString(name));
    labels = b.CreateVector(l);
  }
  auto recv = b.CreateVector(recs);
  fb::SegmentBuilder sb(b);
  if (header) sb.add_header(hdr);
  if (!header) sb.add_labels(labels);
  sb.add_records(recv);
  sb.add_sequence(sequence);
  b.Finish(sb.Finish(), fb::SegmentIdentifier());
  append_frame(kStoreMagic, b.GetBufferPointer(), b.GetSize(), out);
}

StoreHeader read_header(const fb::Header* h) {
  StoreHeader hdr;
  hdr.format_version = h->format_version();
  Preprocessing& p = hdr.prep;
  p.image_size = static_cast<int>(h->image_size());
  p.grayscale = str(h->grayscale());
  p.interpolation = str(h->interpolation());
  p.aspect = str(h->aspect());
  p.face_mode = str(h->face_mode());
  p.equalize = str(h->equalize());
  if (h->embedding() && h->embedding()->size() > 0) p.embedding = h->embedding()->str();
  p.embedding_model = str(h->embedding_model());
  p.chip = str(h->chip());
  hdr.created_by = str(h->created_by());
  if (h->labels())
    for (const auto* l : *h->labels()) hdr.labels.push_back(str(l));
  hdr.thumbnail_size = static_cast<int>(h->thumbnail_size());
  hdr.thumbnail_channels = static_cast<int>(h->thumbnail_channels());
  // Pixel stores keep dims implicit (image_size²), as format 1 did; a learned store states it.
  if (p.learned()) p.dims = static_cast<int>(h->dims());
  return hdr;
}

// Empty when the header describes vectors this build can hold, else why not.
std::string header_problem(const StoreHeader& h, uint32_t dims_field) {
  const Preprocessing& p = h.prep;
  if (p.image_size <= 0 || p.image_size > 4096) return "invalid image size " + std::to_string(p.image_size);
  if (!p.learned()) {
    if (dims_field != 0 && dims_field != static_cast<uint32_t>(p.image_size * p.image_size))
      return "pixel vector size " + std::to_string(dims_field) + " is not the image size squared";
    return {};
  }
  if (p.dims <= 0 || p.dims > 65536) return "invalid vector size " + std::to_string(p.dims);
  if (h.thumbnail_size < 0 || h.thumbnail_size > 512) return "invalid thumbnail size";
  if (h.thumbnail_size > 0 && h.thumbnail_channels != 1 && h.thumbnail_channels != 3)
    return "invalid thumbnail channel count";
  return {};
}

RecordInfo read_info(const fb::Record* r) {
  RecordInfo info;
  info.path = str(r->path());
  info.label = r->label();
  info.source_width = r->source_width();
  info.source_height = r->source_height();
  info.content_hash = r->content_hash();
  info.face_index = r->face_index();
  if (r->box()) info.box = FaceBox{r->box()->x(), r->box()->y(), r->box()->width(), r->box()->height()};
  info.landmarks_found = r->landmarks_found();
  return info;
}

std::string at_offset(uint64_t off) { return "at byte offset " + std::to_string(off); }

std::string summarise(const LoadReport& rep) {
  std::ostringstream s;
  uint64_t lost = 0;
  for (const auto& d : rep.damaged) lost += d.length;
  if (!rep.damaged.empty()) {
    s << rep.damaged.size() << " damaged stretch" << (rep.damaged.size() > 1 ? "es" : "") << " (" << lost
      << " bytes) skipped: ";
    for (size_t i = 0; i < rep.damaged.size() && i < 3; ++i)
      s << (i ? "; " : "") << rep.damaged[i].reason << " " << at_offset(rep.damaged[i].offset);
    if (rep.damaged.size() > 3) s << "; ...";
  }
  if (rep.second_header) {
    if (!rep.damaged.empty()) s << "; ";
    s << "a second store header " << at_offset(*rep.second_header)
      << " (files concatenated?): the store ends there";
  }
  return s.str();
}

// ---- format 2 --------------------------------------------------------------------------------

// Parses the verified segment at `off`; adds its records to `store`. Empty on success, else why
// the segment is unusable (its records are then not added).
std::string take_segment(const fb::Segment* seg, EmbeddingStore& store, std::vector<std::string>& labels) {
  if (seg->labels()) {
    std::vector<std::string> l;
    for (const auto* s : *seg->labels()) l.push_back(str(s));
    // Tables only grow: an intact segment extends what earlier intact ones said.
    if (l.size() < labels.size() || !std::equal(labels.begin(), labels.end(), l.begin()))
      return "label table contradicts the earlier segments";
    labels = std::move(l);
  }
  if (!seg->records()) return {};
  const size_t dims = store.dims();
  const bool learned = store.learned();
  const size_t thumb = learned ? static_cast<size_t>(store.header().thumbnail_size) *
                                     static_cast<size_t>(store.header().thumbnail_size) *
                                     static_cast<size_t>(store.header().thumbnail_channels)
                               : 0;
  for (const fb::Record* r : *seg->records()) {
    if (learned ? !r->vector() || r->vector()->size() != dims : !r->pixels() || r->pixels()->size() != dims)
      return "a record of the wrong vector size";
    if (thumb > 0 && (!r->thumbnail() || r->thumbnail()->size() != thumb)) return "a record with a bad thumbnail";
    if (r->label() < -1 || r->label() >= static_cast<int>(labels.size()))
      return "a record with a label index outside the label table";
  }
  store.header().labels = labels;
  for (const fb::Record* r : *seg->records()) {
    const uint8_t* row = learned ? reinterpret_cast<const uint8_t*>(r->vector()->data()) : r->pixels()->data();
    store.add_mapped(read_info(r), row, thumb > 0 ? r->thumbnail()->data() : nullptr);
  }
  return {};
}

const fb::Segment* verified_segment(const FrameView& f) {
  if (f.size < 8 || !fb::SegmentBufferHasIdentifier(f.payload)) return nullptr;
  flatbuffers::Verifier v(f.payload, f.size, 64, kVerifierMaxTables);
  return fb::VerifySegmentBuffer(v) ? fb::GetSegment(f.payload) : nullptr;
}

EmbeddingStore load_v2(const std::filesystem::path& path, std::shared_ptr<const MappedFile> map, LoadReport& rep) {
  const uint8_t* data = map->data();
  const size_t size = map->size();
  std::string why;
  const auto first = read_frame(kStoreMagic, data, size, &why);
  const fb::Segment* head = first ? verified_segment(*first) : nullptr;
  if (!first) throw StoreError(path.string() + ": damaged store header (" + why + ")");
  if (!head || !head->header()) throw StoreError(path.string() + ": damaged store header (invalid segment)");
  StoreHeader hdr = read_header(head->header());
  if (hdr.format_version > kStoreFormatVersion)
    throw StoreError(path.string() + ": store format version " + std::to_string(hdr.format_version) +
                     " is newer than this lumaflow supports (" + std::to_string(kStoreFormatVersion) + ")");
  if (const std::string p = header_problem(hdr, head->header()->dims()); !p.empty())
    throw StoreError(path.string() + ": damaged store header (" + p + ")");
  std::vector<std::string> labels = hdr.labels;
  EmbeddingStore store(hdr);
  store.keep_mapping(map);
  rep.segments = 1;
  size_t off = first->total;
  rep.bytes_ok = off;
  bool contiguous = true;  // no damage met yet: bytes_ok still grows
  while (off < size) {
    const auto f = read_frame(kStoreMagic, data + off, size - off, &why);
    const fb::Segment* seg = f ? verified_segment(*f) : nullptr;
    if (f && !seg) why = "segment fails FlatBuffers verification";
    if (seg && seg->header()) {
      rep.second_header = off;
      break;
    }
    if (seg) {
      why = take_segment(seg, store, labels);
      if (why.empty()) {
        ++rep.segments;
        if (f->total % 8 != 0) {  // the records are whole, the padding after them is cut short
          rep.damaged.push_back({off + f->total, 0, "the last segment's padding is cut short (its records are kept)"});
          contiguous = false;
        }
        off += f->total;
        if (contiguous) rep.bytes_ok = off;
        continue;
      }
    }
    contiguous = false;
    const auto next = find_frame(kStoreMagic, data, size, off + 1);
    const size_t end = next.value_or(size);
    rep.damaged.push_back({off, end - off, why});
    off = end;
  }
  return store;
}

// ---- format 1 (read only) ----------------------------------------------------------------------

uint64_t v1_checksum(const std::vector<RecordInfo>& infos, const std::vector<const uint8_t*>& pixels, size_t dims) {
  uint64_t h = 0x6c756d61666c6f77ULL;  // "lumaflow"
  for (size_t i = 0; i < infos.size(); ++i) {
    const RecordInfo& r = infos[i];
    h = hash_string(r.path, h);
    const int64_t fields[] = {r.label,
                              r.source_width,
                              r.source_height,
                              r.face_index,
                              r.landmarks_found,
                              r.box ? r.box->x : -1,
                              r.box ? r.box->y : -1,
                              r.box ? r.box->width : -1,
                              r.box ? r.box->height : -1};
    for (int64_t f : fields) h = mix64(h ^ static_cast<uint64_t>(f));
    h = mix64(h ^ r.content_hash);
    h = hash_bytes(pixels[i], dims, h);
  }
  return h;
}

bool is_v1(const uint8_t* data, size_t size) {
  return size >= 12 && flatbuffers::BufferHasIdentifier(data, kV1Identifier, /*size_prefixed=*/true);
}

// Format 1 had no way to resynchronise: the first damaged segment ends the store.
EmbeddingStore load_v1(const std::filesystem::path& path, std::shared_ptr<const MappedFile> map, LoadReport& rep) {
  const uint8_t* data = map->data();
  const size_t size = map->size();
  EmbeddingStore store;
  store.keep_mapping(map);
  bool have_header = false;
  size_t off = 0;
  while (off < size) {
    std::string why;
    const size_t remain = size - off;
    uint32_t len = 0;
    if (remain >= 4) std::memcpy(&len, data + off, 4);
    const fb::Segment* seg = nullptr;
    if (remain < 4 || len < 8 || len > remain - 4) {
      why = "truncated or damaged segment";
    } else {
      flatbuffers::Verifier v(data + off, size_t{len} + 4, 64, kVerifierMaxTables);
      if (flatbuffers::BufferHasIdentifier(data + off, kV1Identifier, true) &&
          v.VerifySizePrefixedBuffer<fb::Segment>(kV1Identifier))
        seg = flatbuffers::GetSizePrefixedRoot<fb::Segment>(data + off);
      else
        why = "segment fails FlatBuffers verification";
    }
    if (seg && !have_header) {
      if (!seg->header()) {
        why = "first segment has no header";
      } else {
        store.header() = read_header(seg->header());
        store.header().prep.dims = 0;
        if (const std::string p = header_problem(store.header(), 0); !p.empty()) why = p;
      }
    }
    if (seg && why.empty()) {
      StoreHeader& hdr = store.header();
      std::vector<std::string> labels = hdr.labels;
      if (seg->new_labels())
        for (const auto* l : *seg->new_labels()) labels.push_back(str(l));
      const size_t dims = static_cast<size_t>(hdr.prep.image_size) * static_cast<size_t>(hdr.prep.image_size);
      std::vector<RecordInfo> infos;
      std::vector<const uint8_t*> px;
      if (seg->records())
        for (const fb::Record* r : *seg->records()) {
          if (!r->pixels() || r->pixels()->size() != dims) why = "a record of the wrong size";
          if (r->label() < -1 || r->label() >= static_cast<int>(labels.size())) why = "a label outside the table";
          if (!why.empty()) break;
          infos.push_back(read_info(r));
          px.push_back(r->pixels()->data());
        }
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION  // fuzz/ builds only: reach the code behind the checksum
      if (why.empty() && v1_checksum(infos, px, dims) != seg->checksum()) why = "checksum mismatch";
#else
      (void)v1_checksum;
#endif
      if (why.empty()) {
        hdr.labels = labels;
        for (size_t i = 0; i < infos.size(); ++i) store.add_mapped(std::move(infos[i]), px[i], nullptr);
        have_header = true;
        ++rep.segments;
        off += 4 + size_t{len};
        rep.bytes_ok = off;
        continue;
      }
    }
    if (!have_header) throw StoreError(path.string() + ": not a valid lumaflow store: " + why + " " + at_offset(off));
    rep.damaged.push_back({off, size - off, why});
    break;
  }
  store.header().format_version = 1;
  return store;
}

std::string utc_stamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace

bool is_store_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  uint8_t head[16] = {};
  const ssize_t n = ::pread(fd, head, sizeof head, 0);
  ::close(fd);
  if (n < 12) return false;
  return starts_with_magic(kStoreMagic, head, static_cast<size_t>(n)) || is_v1(head, static_cast<size_t>(n));
}

EmbeddingStore load_store(const std::filesystem::path& path, LoadReport* report) {
  std::shared_ptr<const MappedFile> map = as_store_error([&] { return MappedFile::open(path); });
  if (map->size() == 0) throw StoreError(path.string() + ": empty file, not a lumaflow store");
  LoadReport rep;
  rep.file_size = map->size();
  EmbeddingStore store;
  if (starts_with_magic(kStoreMagic, map->data(), map->size())) {
    rep.format_version = kStoreFormatVersion;
    store = load_v2(path, map, rep);
  } else if (is_v1(map->data(), map->size())) {
    rep.format_version = 1;
    store = load_v1(path, map, rep);
  } else {
    throw StoreError(path.string() + ": not a lumaflow store");
  }
  if (!rep.damaged.empty() || rep.second_header) rep.damage = summarise(rep);
  if (report) *report = rep;
  return store;
}

void write_store(const std::filesystem::path& path, const EmbeddingStore& store, size_t max_segment_bytes) {
  const size_t per_record = std::max<size_t>(1, store.dims() * (store.learned() ? 4 : 1));
  const size_t per_segment = std::max<size_t>(1, max_segment_bytes / per_record);
  as_store_error([&] {
    AtomicFile file(path);
    std::vector<uint8_t> bytes;
    append_segment(store, 0, 0, /*header=*/true, 0, bytes);
    uint64_t sequence = 0;
    for (size_t i = 0; i < store.size(); i += per_segment) {
      append_segment(store, i, std::min(store.size(), i + per_segment), false, ++sequence, bytes);
      file.write(bytes.data(), bytes.size());
      bytes.clear();
    }
    file.write(bytes.data(), bytes.size());
    file.commit();
  });
}

std::string RepairReport::summary() const {
  std::ostringstream s;
  s << "kept " << records_kept << " records; the original is kept as " << moved_to.string();
  if (load.damage) s << " (" << *load.damage << ")";
  return s.str();
}

std::optional<RepairReport> repair_store(const std::filesystem::path& path) {
  LoadReport rep;
  const EmbeddingStore store = load_store(path, &rep);
  if (rep.intact() && rep.format_version == kStoreFormatVersion) return std::nullopt;
  RepairReport r;
  r.load = rep;
  r.records_kept = store.size();
  r.moved_to = path.string() + (rep.intact() ? ".v1" : ".damaged-" + utc_stamp());
  as_store_error([&] {
    // The clean copy is complete on disk before the original moves: no moment without the data.
    const std::filesystem::path fresh = path.string() + ".repaired";
    write_store(fresh, store);
    std::error_code ec;
    std::filesystem::rename(path, r.moved_to, ec);
    if (ec) throw StoreError(path.string() + ": cannot move the damaged store aside: " + ec.message());
    std::filesystem::rename(fresh, path, ec);
    if (ec) throw StoreError(path.string() + ": cannot put the repaired store in place: " + ec.message());
    fsync_directory(path);
  });
  return r;
}

StoreAppender::StoreAppender(const std::filesystem::path& path, const StoreHeader& header) : path_(path) {
  lock_ = as_store_error([&] { return std::make_unique<FileLock>(path, "append to it"); });
  StoreHeader h = header;
  if (std::filesystem::exists(path)) {
    repaired_ = repair_store(path);
    LoadReport rep;
    EmbeddingStore existing = load_store(path, &rep);
    if (auto d = existing.header().prep.difference(header.prep); !d.empty())
      throw StoreError(path.string() + ": cannot append: the store was made with other preprocessing (" + d + ")");
    h = existing.header();
    total_ = existing.size();
    sequence_ = rep.segments - 1;  // the header segment is 0, record segments 1, 2, ...
    size_ = rep.bytes_ok;
  } else {
    h.format_version = kStoreFormatVersion;
    write_store(path, EmbeddingStore(h));
    size_ = std::filesystem::file_size(path);
  }
  fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd_ < 0) throw StoreError(file_error_text(path, "cannot open for appending", errno));
  pending_ = EmbeddingStore(h);
  labels_written_ = h.labels.size();
}

StoreAppender::~StoreAppender() {
  try {
    close();
  } catch (...) {
  }
}

void StoreAppender::close() {
  if (fd_ < 0) return;
  flush();
  ::close(fd_);
  fd_ = -1;
  lock_.reset();
}

int StoreAppender::label_index(const std::string& name) { return pending_.label_index(name); }

void StoreAppender::add(RecordInfo info, const uint8_t* px, size_t count) { pending_.add(std::move(info), px, count); }

void StoreAppender::add(RecordInfo info, const float* v, size_t count, const uint8_t* thumb, size_t thumb_bytes) {
  pending_.add(std::move(info), v, count, thumb, thumb_bytes);
}

void StoreAppender::flush() {
  undo_.reset();
  if (pending_.empty() && labels_written_ == pending_.header().labels.size()) return;
  if (fd_ < 0) throw StoreError(path_.string() + ": store is closed");
  std::vector<uint8_t> bytes;
  append_segment(pending_, 0, pending_.size(), false, sequence_ + 1, bytes);
  try {
    // pwrite at the known end: a failed earlier attempt left no partial bytes behind.
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t w = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(size_ + done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) throw StoreError(file_error_text(path_, "cannot append", w < 0 ? errno : EIO));
      done += static_cast<size_t>(w);
    }
    if (::fsync(fd_) != 0) throw StoreError(file_error_text(path_, "cannot make the append durable (fsync)", errno));
  } catch (...) {
    // Roll back to the last durable segment; the pending records are lost, not half-written.
    [[maybe_unused]] const int t = ::ftruncate(fd_, static_cast<off_t>(size_));
    ::fsync(fd_);
    StoreHeader h = pending_.header();
    pending_ = EmbeddingStore(std::move(h));
    throw;
  }
  undo_ = Undo{size_, sequence_, labels_written_, total_};
  size_ += bytes.size();
  ++sequence_;
  total_ += pending_.size();
  labels_written_ = pending_.header().labels.size();
  StoreHeader h = pending_.header();
  pending_ = EmbeddingStore(std::move(h));
}

size_t StoreAppender::undo_last_flush() {
  if (!undo_ || fd_ < 0) return 0;
  if (::ftruncate(fd_, static_cast<off_t>(undo_->size)) != 0 || ::fsync(fd_) != 0)
    throw StoreError(file_error_text(path_, "cannot take the last appended records back", errno));
  const size_t removed = total_ - undo_->total;
  size_ = undo_->size;
  sequence_ = undo_->sequence;
  labels_written_ = undo_->labels_written;
  total_ = undo_->total;
  undo_.reset();
  return removed;
}

StoreWriter::StoreWriter(const std::filesystem::path& path, const StoreHeader& header, size_t max_segment_bytes)
    : path_(path), max_segment_bytes_(max_segment_bytes == 0 ? 1 : max_segment_bytes), pending_(header) {
  pending_.header().format_version = kStoreFormatVersion;
  as_store_error([&] { file_ = std::make_unique<AtomicFile>(path); });
  std::vector<uint8_t> bytes;
  append_segment(pending_, 0, 0, /*header=*/true, 0, bytes);
  as_store_error([&] { file_->write(bytes.data(), bytes.size()); });
}

StoreWriter::~StoreWriter() = default;  // not committed: AtomicFile removes the temp file

void StoreWriter::add(RecordInfo info, const uint8_t* pixels, size_t count) {
  if (!file_) throw StoreError(path_.string() + ": store already committed");
  pending_.add(std::move(info), pixels, count);
  if (pending_.size() * pending_.dims() >= max_segment_bytes_) write_pending();
}

void StoreWriter::add(RecordInfo info, const float* v, size_t count, const uint8_t* thumb, size_t thumb_bytes) {
  if (!file_) throw StoreError(path_.string() + ": store already committed");
  pending_.add(std::move(info), v, count, thumb, thumb_bytes);
  if (pending_.size() * pending_.dims() * sizeof(float) >= max_segment_bytes_) write_pending();
}

void StoreWriter::write_pending() {
  if (pending_.empty()) return;
  std::vector<uint8_t> bytes;
  append_segment(pending_, 0, pending_.size(), false, ++sequence_, bytes);
  as_store_error([&] { file_->write(bytes.data(), bytes.size()); });
  written_ += pending_.size();
  StoreHeader h = pending_.header();
  pending_ = EmbeddingStore(std::move(h));
}

void StoreWriter::commit() {
  if (!file_) throw StoreError(path_.string() + ": store already committed");
  write_pending();
  as_store_error([&] { file_->commit(); });
  file_.reset();
}

}  // namespace lumaflow
