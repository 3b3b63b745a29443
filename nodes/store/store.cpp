#include "nodes/store/store.hpp"

#include <algorithm>
#include <cstring>

#include "nodes/core/pixels.hpp"

namespace lumaflow {
namespace {

constexpr size_t kBlockBytes = size_t{4} << 20;
constexpr size_t kRowAlign = 16;  // float rows stay aligned for vectorised reads

}  // namespace

std::string Preprocessing::difference(const Preprocessing& o) const {
  auto diff = [](const char* what, const std::string& a, const std::string& b) {
    return std::string(what) + " differs: '" + a + "' vs '" + b + "'";
  };
  if (embedding != o.embedding) return diff("embedding", embedding, o.embedding);
  if (image_size != o.image_size)
    return "image size differs: " + std::to_string(image_size) + " vs " + std::to_string(o.image_size);
  if (vector_dims() != o.vector_dims())
    return "vector size differs: " + std::to_string(vector_dims()) + " vs " + std::to_string(o.vector_dims());
  if (grayscale != o.grayscale) return diff("grayscale", grayscale, o.grayscale);
  if (interpolation != o.interpolation) return diff("interpolation", interpolation, o.interpolation);
  if (aspect != o.aspect) return diff("aspect policy", aspect, o.aspect);
  if (face_mode != o.face_mode) return diff("face mode", face_mode, o.face_mode);
  if (equalize != o.equalize) return diff("equalization", equalize, o.equalize);
  if (embedding_model != o.embedding_model) return diff("embedding model", embedding_model, o.embedding_model);
  if (chip != o.chip) return diff("face chip", chip, o.chip);
  return {};
}

EmbeddingStore::EmbeddingStore(const EmbeddingStore& other) : header_(other.header_) {
  records_.reserve(other.size());
  rows_.reserve(other.size());
  thumbs_.reserve(other.size());
  const size_t rb = other.row_bytes(), tb = other.thumbnail_bytes();
  for (size_t i = 0; i < other.size(); ++i) {
    uint8_t* r = allocate(rb);
    std::memcpy(r, other.rows_[i], rb);
    uint8_t* t = nullptr;
    if (tb > 0 && other.thumbs_[i]) {
      t = allocate(tb);
      std::memcpy(t, other.thumbs_[i], tb);
    }
    records_.push_back(other.records_[i]);
    rows_.push_back(r);
    thumbs_.push_back(t);
  }
}

EmbeddingStore& EmbeddingStore::operator=(const EmbeddingStore& other) {
  if (this != &other) *this = EmbeddingStore(other);
  return *this;
}

size_t EmbeddingStore::thumbnail_bytes() const {
  if (!learned()) return 0;
  return static_cast<size_t>(header_.thumbnail_size) * static_cast<size_t>(header_.thumbnail_size) *
         static_cast<size_t>(header_.thumbnail_channels);
}

uint8_t* EmbeddingStore::allocate(size_t bytes) {
  const size_t need = (bytes + kRowAlign - 1) & ~(kRowAlign - 1);
  if (need > block_left_) {
    const size_t size = std::max(kBlockBytes, need);
    blocks_.push_back(std::make_unique<uint8_t[]>(size));  // new[] of uint8_t is 16-aligned here
    block_next_ = blocks_.back().get();
    block_left_ = size;
  }
  uint8_t* p = block_next_;
  block_next_ += need;
  block_left_ -= need;
  return p;
}

void EmbeddingStore::check_record(const RecordInfo& info) const {
  if (info.label < -1 || info.label >= static_cast<int>(header_.labels.size()))
    throw std::invalid_argument("store: record '" + info.path + "' has unknown label index " +
                                std::to_string(info.label));
}

void EmbeddingStore::add(RecordInfo info, const uint8_t* px, size_t count) {
  if (learned())
    throw std::invalid_argument("store: record '" + info.path + "' holds pixels, the store holds " +
                                header_.prep.embedding + " vectors");
  if (count != dims())
    throw std::invalid_argument("store: record '" + info.path + "' has " + std::to_string(count) +
                                " pixels, expected " + std::to_string(dims()));
  check_record(info);
  uint8_t* r = allocate(count);
  std::memcpy(r, px, count);
  records_.push_back(std::move(info));
  rows_.push_back(r);
  thumbs_.push_back(nullptr);
}

void EmbeddingStore::add(RecordInfo info, const float* vec, size_t count, const uint8_t* thumb, size_t thumb_bytes) {
  if (!learned())
    throw std::invalid_argument("store: record '" + info.path + "' holds a vector, the store holds pixels");
  if (count != dims())
    throw std::invalid_argument("store: record '" + info.path + "' has " + std::to_string(count) +
                                " values, expected " + std::to_string(dims()));
  if (thumb_bytes != thumbnail_bytes() || (thumb_bytes > 0 && !thumb))
    throw std::invalid_argument("store: record '" + info.path + "' has a " + std::to_string(thumb_bytes) +
                                "-byte thumbnail, expected " + std::to_string(thumbnail_bytes()));
  check_record(info);
  uint8_t* r = allocate(count * sizeof(float));
  std::memcpy(r, vec, count * sizeof(float));
  uint8_t* t = nullptr;
  if (thumb_bytes > 0) {
    t = allocate(thumb_bytes);
    std::memcpy(t, thumb, thumb_bytes);
  }
  records_.push_back(std::move(info));
  rows_.push_back(r);
  thumbs_.push_back(t);
}

void EmbeddingStore::add_mapped(RecordInfo info, const uint8_t* row, const uint8_t* thumb) {
  check_record(info);
  records_.push_back(std::move(info));
  rows_.push_back(row);
  thumbs_.push_back(thumb);
}

int EmbeddingStore::label_index(const std::string& name) {
  for (size_t i = 0; i < header_.labels.size(); ++i)
    if (header_.labels[i] == name) return static_cast<int>(i);
  header_.labels.push_back(name);
  return static_cast<int>(header_.labels.size() - 1);
}

const uint8_t* EmbeddingStore::pixels(size_t i) const {
  if (learned()) throw std::logic_error("store: pixels() of a " + header_.prep.embedding + " store");
  return rows_.at(i);
}

const float* EmbeddingStore::vector(size_t i) const {
  if (!learned()) throw std::logic_error("store: vector() of a pixel store");
  return reinterpret_cast<const float*>(rows_.at(i));
}

void EmbeddingStore::row(size_t i, float* out) const {
  if (learned())
    std::memcpy(out, rows_.at(i), dims() * sizeof(float));
  else
    pixels_to_row(rows_.at(i), dims(), out);
}

Thumbnail EmbeddingStore::thumbnail(size_t i) const {
  if (!learned()) return {rows_.at(i), image_size(), 1};
  if (thumbnail_bytes() == 0 || !thumbs_.at(i)) return {};
  return {thumbs_[i], header_.thumbnail_size, header_.thumbnail_channels};
}

RowMatrixF EmbeddingStore::matrix() const {
  RowMatrixF x(static_cast<Eigen::Index>(size()), static_cast<Eigen::Index>(dims()));
  for (size_t i = 0; i < size(); ++i) row(i, x.row(static_cast<Eigen::Index>(i)).data());
  return x;
}

RowSource EmbeddingStore::rows() const {
  const auto n = static_cast<Eigen::Index>(size()), d = static_cast<Eigen::Index>(dims());
  if (learned())
    return RowSource(n, d, [this](Eigen::Index r, Eigen::Index c, Eigen::Index count, float* out) {
      std::memcpy(out, rows_[static_cast<size_t>(r)] + static_cast<size_t>(c) * sizeof(float),
                  static_cast<size_t>(count) * sizeof(float));
    });
  return RowSource(n, d, [this](Eigen::Index r, Eigen::Index c, Eigen::Index count, float* out) {
    pixels_to_row(rows_[static_cast<size_t>(r)] + c, static_cast<size_t>(count), out);
  });
}

Labels EmbeddingStore::labels() const {
  Labels out;
  out.reserve(records_.size());
  for (const auto& r : records_) out.push_back(r.label);
  return out;
}

}  // namespace lumaflow
