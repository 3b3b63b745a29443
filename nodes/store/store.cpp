#include "nodes/store/store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "nodes/core/atomic_file.hpp"
#include "nodes/core/hash.hpp"
#include "nodes/core/pixels.hpp"
#include "store_generated.h"

namespace lumaflow {
namespace {

std::string errno_text() { return std::strerror(errno); }

std::string where(const std::filesystem::path& p) { return p.string(); }

// Checksum over what the Verifier cannot judge: every field of every record.
uint64_t records_checksum(const std::vector<const RecordInfo*>& infos, const std::vector<const uint8_t*>& pixels,
                          size_t dims) {
  uint64_t h = 0x6c756d61666c6f77ULL;  // "lumaflow"
  for (size_t i = 0; i < infos.size(); ++i) {
    const RecordInfo& r = *infos[i];
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

flatbuffers::Offset<fb::Header> build_header(flatbuffers::FlatBufferBuilder& b, const StoreHeader& h) {
  std::vector<flatbuffers::Offset<flatbuffers::String>> labels;
  for (const auto& l : h.labels) labels.push_back(b.CreateString(l));
  return fb::CreateHeader(b, h.format_version, static_cast<uint32_t>(h.prep.image_size),
                          b.CreateString(h.prep.grayscale), b.CreateString(h.prep.interpolation),
                          b.CreateString(h.prep.aspect), b.CreateString(h.prep.face_mode),
                          b.CreateString(h.prep.equalize), b.CreateVector(labels), b.CreateString(h.created_by));
}

// Serialises one segment (size-prefixed) into `out`.
void build_segment(const StoreHeader* header, const std::vector<std::string>& new_labels,
                   const std::vector<const RecordInfo*>& infos, const std::vector<const uint8_t*>& pixels, size_t dims,
                   std::vector<uint8_t>& out) {
  flatbuffers::FlatBufferBuilder b(1024 + infos.size() * (dims + 128));
  std::vector<flatbuffers::Offset<fb::Record>> recs;
  recs.reserve(infos.size());
  for (size_t i = 0; i < infos.size(); ++i) {
    const RecordInfo& r = *infos[i];
    auto path = b.CreateString(r.path);
    auto px = b.CreateVector(pixels[i], dims);
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
    rb.add_pixels(px);
    recs.push_back(rb.Finish());
  }
  flatbuffers::Offset<fb::Header> hdr;
  if (header) hdr = build_header(b, *header);
  std::vector<flatbuffers::Offset<flatbuffers::String>> nl;
  for (const auto& l : new_labels) nl.push_back(b.CreateString(l));
  auto nlv = b.CreateVector(nl);
  auto recv = b.CreateVector(recs);
  fb::SegmentBuilder sb(b);
  if (header) sb.add_header(hdr);
  sb.add_new_labels(nlv);
  sb.add_records(recv);
  sb.add_checksum(records_checksum(infos, pixels, dims));
  b.FinishSizePrefixed(sb.Finish(), fb::SegmentIdentifier());
  out.assign(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

// Store errors keep their type (callers tell a bad store from other failures by it).
template <class Fn>
void as_store_error(Fn&& fn) {
  try {
    fn();
  } catch (const FileError& e) {
    throw StoreError(e.what());
  }
}

// Serialises records [begin, end) of `store` as one segment.
void build_segment_of(const EmbeddingStore& store, size_t begin, size_t end, const StoreHeader* header,
                      const std::vector<std::string>& new_labels, std::vector<uint8_t>& out) {
  std::vector<const RecordInfo*> infos;
  std::vector<const uint8_t*> px;
  for (size_t j = begin; j < end; ++j) {
    infos.push_back(&store.record(j));
    px.push_back(store.pixels(j));
  }
  build_segment(header, new_labels, infos, px, store.dims(), out);
}

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw StoreError(where(path) + ": cannot open store: " + errno_text());
  in.seekg(0, std::ios::end);
  const auto size = in.tellg();
  if (size < 0) throw StoreError(where(path) + ": cannot read store");
  in.seekg(0);
  std::vector<uint8_t> data(static_cast<size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(data.data()), size)) throw StoreError(where(path) + ": read failed");
  return data;
}

std::string str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

}  // namespace

std::string Preprocessing::difference(const Preprocessing& o) const {
  auto diff = [](const char* what, const std::string& a, const std::string& b) {
    return std::string(what) + " differs: '" + a + "' vs '" + b + "'";
  };
  if (image_size != o.image_size)
    return "image size differs: " + std::to_string(image_size) + " vs " + std::to_string(o.image_size);
  if (grayscale != o.grayscale) return diff("grayscale", grayscale, o.grayscale);
  if (interpolation != o.interpolation) return diff("interpolation", interpolation, o.interpolation);
  if (aspect != o.aspect) return diff("aspect policy", aspect, o.aspect);
  if (face_mode != o.face_mode) return diff("face mode", face_mode, o.face_mode);
  if (equalize != o.equalize) return diff("equalization", equalize, o.equalize);
  return {};
}

void EmbeddingStore::add(RecordInfo info, const uint8_t* px, size_t count) {
  if (count != dims())
    throw std::invalid_argument("store: record '" + info.path + "' has " + std::to_string(count) +
                                " pixels, expected " + std::to_string(dims()));
  if (info.label >= static_cast<int>(header_.labels.size()))
    throw std::invalid_argument("store: record '" + info.path + "' has unknown label index " +
                                std::to_string(info.label));
  records_.push_back(std::move(info));
  pixels_.insert(pixels_.end(), px, px + count);
}

int EmbeddingStore::label_index(const std::string& name) {
  for (size_t i = 0; i < header_.labels.size(); ++i)
    if (header_.labels[i] == name) return static_cast<int>(i);
  header_.labels.push_back(name);
  return static_cast<int>(header_.labels.size() - 1);
}

RowMatrixF EmbeddingStore::matrix() const { return pixel_rows(pixels_.data(), size(), dims()); }

Labels EmbeddingStore::labels() const {
  Labels out;
  out.reserve(records_.size());
  for (const auto& r : records_) out.push_back(r.label);
  return out;
}

EmbeddingStore load_store(const std::filesystem::path& path, LoadReport* report) {
  const std::vector<uint8_t> data = read_file(path);
  if (data.empty()) throw StoreError(where(path) + ": empty file, not a lumaflow store");
  EmbeddingStore store;
  LoadReport rep;
  size_t off = 0;
  bool have_header = false;
  while (off < data.size()) {
    const size_t remain = data.size() - off;
    std::ostringstream damage;
    if (remain < 4) {
      damage << "truncated segment length at byte offset " << off;
    } else {
      uint32_t len;
      std::memcpy(&len, data.data() + off, 4);
      if (len < 8 || len > remain - 4) {
        damage << "truncated or damaged segment at byte offset " << off << " (declares " << len << " bytes, "
               << remain - 4 << " remain)";
      } else {
        // Alignment in a size-prefixed buffer is relative to its prefix, so verify it whole.
        const uint8_t* buf = data.data() + off;
        flatbuffers::Verifier verifier(buf, size_t{len} + 4, 64, 100000000);
        const fb::Segment* seg = nullptr;
        if (!fb::SegmentBufferHasIdentifier(buf + 4) || !fb::VerifySizePrefixedSegmentBuffer(verifier)) {
          damage << "segment at byte offset " << off << " fails FlatBuffers verification";
        } else {
          seg = fb::GetSizePrefixedSegment(buf);
          if (!have_header && !seg->header()) damage << "first segment has no header";
        }
        if (seg && damage.str().empty()) {
          StoreHeader hdr = store.header();
          if (!have_header) {
            const fb::Header* h = seg->header();
            hdr.format_version = h->format_version();
            hdr.prep.image_size = static_cast<int>(h->image_size());
            hdr.prep.grayscale = str(h->grayscale());
            hdr.prep.interpolation = str(h->interpolation());
            hdr.prep.aspect = str(h->aspect());
            hdr.prep.face_mode = str(h->face_mode());
            hdr.prep.equalize = str(h->equalize());
            hdr.created_by = str(h->created_by());
            hdr.labels.clear();
            if (h->labels())
              for (const auto* l : *h->labels()) hdr.labels.push_back(str(l));
            if (hdr.format_version > kStoreFormatVersion)
              throw StoreError(where(path) + ": store format version " + std::to_string(hdr.format_version) +
                               " is newer than this lumaflow supports (" + std::to_string(kStoreFormatVersion) + ")");
            if (hdr.prep.image_size <= 0 || hdr.prep.image_size > 4096)
              damage << "header declares an invalid image size " << hdr.prep.image_size;
          }
          if (seg->new_labels())
            for (const auto* l : *seg->new_labels()) hdr.labels.push_back(str(l));
          const size_t dims = static_cast<size_t>(hdr.prep.image_size) * static_cast<size_t>(hdr.prep.image_size);
          std::vector<RecordInfo> infos;
          std::vector<const uint8_t*> px;
          if (damage.str().empty() && seg->records()) {
            for (const fb::Record* r : *seg->records()) {
              if (!r->pixels() || r->pixels()->size() != dims) {
                damage << "segment at byte offset " << off << " holds a record with "
                       << (r->pixels() ? r->pixels()->size() : 0) << " pixels, expected " << dims;
                break;
              }
              if (r->label() < -1 || r->label() >= static_cast<int>(hdr.labels.size())) {
                damage << "segment at byte offset " << off << " holds a record with label index " << r->label()
                       << " outside the label table";
                break;
              }
              RecordInfo info;
              info.path = str(r->path());
              info.label = r->label();
              info.source_width = r->source_width();
              info.source_height = r->source_height();
              info.content_hash = r->content_hash();
              info.face_index = r->face_index();
              if (r->box()) info.box = FaceBox{r->box()->x(), r->box()->y(), r->box()->width(), r->box()->height()};
              info.landmarks_found = r->landmarks_found();
              infos.push_back(std::move(info));
              px.push_back(r->pixels()->data());
            }
          }
          if (damage.str().empty()) {
            std::vector<const RecordInfo*> ptrs;
            for (const auto& i : infos) ptrs.push_back(&i);
            if (records_checksum(ptrs, px, dims) != seg->checksum())
              damage << "segment at byte offset " << off << " fails its checksum (damaged contents)";
          }
          if (damage.str().empty()) {
            store.header() = hdr;
            have_header = true;
            for (size_t i = 0; i < infos.size(); ++i) store.add(std::move(infos[i]), px[i], dims);
            ++rep.segments;
            off += 4 + len;
            rep.bytes_ok = off;
            continue;
          }
        }
      }
    }
    if (!have_header) throw StoreError(where(path) + ": not a valid lumaflow store: " + damage.str());
    rep.damage = damage.str();
    break;
  }
  if (report) *report = rep;
  return store;
}

void write_store(const std::filesystem::path& path, const EmbeddingStore& store, size_t records_per_segment) {
  if (records_per_segment == 0) records_per_segment = 1;
  as_store_error([&] {
    AtomicFile file(path);
    std::vector<uint8_t> bytes;
    size_t i = 0;
    do {
      const size_t end = std::min(store.size(), i + records_per_segment);
      build_segment_of(store, i, end, i == 0 ? &store.header() : nullptr, {}, bytes);
      file.write(bytes.data(), bytes.size());
      i = end;
    } while (i < store.size());
    file.commit();
  });
}

StoreAppender::StoreAppender(const std::filesystem::path& path, const StoreHeader& header) : path_(path) {
  image_size_ = header.prep.image_size;
  if (std::filesystem::exists(path)) {
    LoadReport rep;
    EmbeddingStore existing = load_store(path, &rep);
    if (auto d = existing.header().prep.difference(header.prep); !d.empty())
      throw StoreError(where(path) + ": cannot append: the store was made with other preprocessing (" + d + ")");
    labels_ = existing.header().labels;
    labels_written_ = labels_.size();
    total_ = existing.size();
    if (rep.damage) {
      damage_ = *rep.damage;
      std::filesystem::resize_file(path, rep.bytes_ok);
    }
  } else {
    write_store(path, EmbeddingStore(header));
    labels_ = header.labels;
    labels_written_ = labels_.size();
  }
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) throw StoreError(where(path) + ": cannot open for appending: " + errno_text());
  StoreHeader ph = header;
  ph.labels = labels_;
  pending_ = EmbeddingStore(ph);
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
}

int StoreAppender::label_index(const std::string& name) {
  for (size_t i = 0; i < labels_.size(); ++i)
    if (labels_[i] == name) return static_cast<int>(i);
  labels_.push_back(name);
  pending_.label_index(name);
  return static_cast<int>(labels_.size() - 1);
}

void StoreAppender::add(RecordInfo info, const uint8_t* px, size_t count) { pending_.add(std::move(info), px, count); }

void StoreAppender::flush() {
  if (pending_.empty() && labels_written_ == labels_.size()) return;
  if (fd_ < 0) throw StoreError(where(path_) + ": store is closed");
  std::vector<std::string> new_labels(labels_.begin() + static_cast<std::ptrdiff_t>(labels_written_), labels_.end());
  std::vector<uint8_t> bytes;
  build_segment_of(pending_, 0, pending_.size(), nullptr, new_labels, bytes);
  as_store_error([&] { write_all(fd_, bytes.data(), bytes.size(), path_); });
  if (::fsync(fd_) != 0) throw StoreError(file_error_text(path_, "fsync failed", errno));
  total_ += pending_.size();
  labels_written_ = labels_.size();
  StoreHeader ph = pending_.header();
  pending_ = EmbeddingStore(ph);
}

StoreWriter::StoreWriter(const std::filesystem::path& path, const StoreHeader& header, size_t per_segment)
    : path_(path), per_segment_(per_segment == 0 ? 1 : per_segment), pending_(header) {
  as_store_error([&] { file_ = std::make_unique<AtomicFile>(path); });
}

StoreWriter::~StoreWriter() = default;  // not committed: AtomicFile removes the temp file

void StoreWriter::add(RecordInfo info, const uint8_t* pixels, size_t count) {
  if (!file_) throw StoreError(path_.string() + ": store already committed");
  pending_.add(std::move(info), pixels, count);
  if (pending_.size() >= per_segment_) write_pending();
}

void StoreWriter::write_pending() {
  const bool first = written_ == 0 && !header_written_;
  if (!first && pending_.empty()) return;
  std::vector<uint8_t> bytes;
  build_segment_of(pending_, 0, pending_.size(), first ? &pending_.header() : nullptr, {}, bytes);
  as_store_error([&] { file_->write(bytes.data(), bytes.size()); });
  header_written_ = true;
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
