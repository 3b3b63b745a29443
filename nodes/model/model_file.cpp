// save_model / load_model (model.hpp): the FlatBuffer (schemas/model.fbs) in a checksummed frame
// (nodes/store/frame.hpp), written atomically; load verifies the buffer and cross-checks what the
// Verifier cannot (shapes, ranges, label tables).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include "model_generated.h"
#include "nodes/core/atomic_file.hpp"
#include "nodes/core/checksum.hpp"
#include "nodes/core/mapped_file.hpp"
#include "nodes/model/model.hpp"
#include "nodes/store/frame.hpp"

namespace lumaflow {

namespace {

flatbuffers::Offset<fb::Matrix> put_matrix(flatbuffers::FlatBufferBuilder& b, const RowMatrixF& m) {
  auto data = b.CreateVector(m.data(), static_cast<size_t>(m.size()));
  return fb::CreateMatrix(b, static_cast<uint32_t>(m.rows()), static_cast<uint32_t>(m.cols()), data);
}

RowMatrixF get_matrix(const fb::Matrix* m, const std::string& what, const std::string& path) {
  if (!m || !m->data() || static_cast<size_t>(m->rows()) * m->cols() != m->data()->size())
    throw ModelError(path + ": damaged model (" + what + " matrix missing or inconsistent)");
  RowMatrixF out(m->rows(), m->cols());
  std::memcpy(out.data(), m->data()->data(), sizeof(float) * m->data()->size());
  return out;
}

template <class T>
std::vector<T> get_vec(const flatbuffers::Vector<T>* v) {
  return v ? std::vector<T>(v->begin(), v->end()) : std::vector<T>();
}

VectorF to_vectorf(const flatbuffers::Vector<float>* v) {
  VectorF out(v ? static_cast<Eigen::Index>(v->size()) : 0);
  for (Eigen::Index i = 0; i < out.size(); ++i) out(i) = v->Get(static_cast<flatbuffers::uoffset_t>(i));
  return out;
}

flatbuffers::Offset<fb::Umap> put_umap(flatbuffers::FlatBufferBuilder& b, const UmapModel& u) {
  auto data = put_matrix(b, u.data);
  auto emb = put_matrix(b, u.embedding);
  const UmapOptions& o = u.options;
  return fb::CreateUmap(b, o.n_neighbors, o.n_components, o.min_dist, o.spread, o.learning_rate, o.negative_sample_rate,
                        o.repulsion_strength, o.local_connectivity, o.n_epochs, o.transform_epochs, o.seed, u.a, u.b,
                        data, emb);
}

UmapModel get_umap(const fb::Umap* u, const std::string& path) {
  if (!u) throw ModelError(path + ": damaged model (UMAP missing)");
  UmapModel m;
  m.options.n_neighbors = u->n_neighbors();
  m.options.n_components = u->n_components();
  m.options.min_dist = u->min_dist();
  m.options.spread = u->spread();
  m.options.learning_rate = u->learning_rate();
  m.options.negative_sample_rate = u->negative_sample_rate();
  m.options.repulsion_strength = u->repulsion_strength();
  m.options.local_connectivity = u->local_connectivity();
  m.options.n_epochs = u->n_epochs();
  m.options.transform_epochs = u->transform_epochs();
  m.options.seed = u->seed();
  m.options.threads = 1;
  m.a = u->a();
  m.b = u->b();
  m.data = get_matrix(u->data(), "UMAP data", path);
  m.embedding = get_matrix(u->embedding(), "UMAP embedding", path);
  if (m.embedding.rows() != m.data.rows() || m.embedding.cols() != m.options.n_components ||
      m.options.n_neighbors < 1 || m.options.n_neighbors > m.data.rows())
    throw ModelError(path + ": damaged model (UMAP sizes disagree)");
  return m;
}

std::string s(const flatbuffers::String* x) { return x ? x->str() : std::string(); }

// What classify() trusts beyond sizes: every number finite and every parameter in the range it
// was fitted with (a NaN mean made classify throw mid-output; a huge epoch count hangs it).
// Empty when fine, else the failing part. Found by fuzz/fuzz_model.
// Every stored coordinate is bounded: pixel/255 and learned vectors, unit PCA components, their
// projections and UMAP layouts are all far inside ±1e6, and squared distances of such values
// stay finite in float.
template <class M>
bool sane(const M& x) {
  return x.size() == 0 || (x.allFinite() && x.cwiseAbs().maxCoeff() <= 1e6f);
}

std::string value_problem(const FittedModel& m) {
  const Eigen::Index n = m.reduced.rows(), k = m.reduced.cols();
  if (!sane(m.pca.mean)) return "PCA mean holds non-finite or absurd values";
  if (!sane(m.pca.components)) return "PCA components hold non-finite or absurd values";
  if (!m.pca.explained_variance.allFinite() || (m.pca.explained_variance.array() < 0).any())
    return "PCA variances are negative or non-finite";
  if (!sane(m.reduced)) return "training vectors hold non-finite or absurd values";
  auto umap_problem = [&](const UmapModel& u, const char* name) -> std::string {
    const UmapOptions& o = u.options;
    const bool ok = sane(u.data) && sane(u.embedding) && u.data.rows() == n && u.data.cols() == k &&
                    std::isfinite(u.a) && u.a > 0 && std::isfinite(u.b) && u.b > 0 && o.n_neighbors >= 1 &&
                    o.n_neighbors <= n && o.n_components >= 1 && o.n_epochs >= -1 && o.n_epochs <= 100000 &&
                    o.transform_epochs >= -1 && o.transform_epochs <= 100000 && std::isfinite(o.learning_rate) &&
                    o.learning_rate > 0 && o.negative_sample_rate >= 0 && o.negative_sample_rate <= 1000 &&
                    std::isfinite(o.repulsion_strength) && o.repulsion_strength >= 0 &&
                    std::isfinite(o.local_connectivity) && o.local_connectivity >= 0 && std::isfinite(o.min_dist) &&
                    std::isfinite(o.spread) && o.spread > 0;
    return ok ? std::string() : std::string(name) + " values or parameters out of range";
  };
  if (std::string p = umap_problem(m.umap2, "UMAP 2-D"); !p.empty()) return p;
  if (m.umapn)
    if (std::string p = umap_problem(*m.umapn, "UMAP N-D"); !p.empty()) return p;
  for (int c : m.svm.classes())
    if (c < 0 || static_cast<size_t>(c) >= m.labels.size()) return "SVM class outside the label table";
  auto finite_nonneg = [](float v) { return std::isfinite(v) && v >= 0; };
  if (!finite_nonneg(m.open_set_threshold) || !finite_nonneg(m.open_set_ratio) || !finite_nonneg(m.unknown_eps) ||
      !finite_nonneg(m.dbscan_eps) || !(m.open_set_percentile >= 0 && m.open_set_percentile <= 100) ||
      !(m.open_set_frr >= 0 && m.open_set_frr <= 0.5f) || !(m.open_set_cv_frr >= -1 && m.open_set_cv_frr <= 1) ||
      !(m.heldout_accuracy >= -1 && m.heldout_accuracy <= 1) || m.min_faces < 1 || m.shortlist < 0 ||
      m.shortlist > static_cast<int>(m.labels.size()))
    return "open-set or clustering parameters out of range";
  if (!m.dbscan_labels.empty() && static_cast<Eigen::Index>(m.dbscan_labels.size()) != n)
    return "training cluster labels disagree with the training set";
  for (int l : m.dbscan_labels)
    if (l < -1 || l >= n) return "training cluster label out of range";
  if (!m.train_paths.empty() && static_cast<Eigen::Index>(m.train_paths.size()) != n)
    return "training paths disagree with the training set";
  return {};
}

}  // namespace

void save_model(const std::filesystem::path& path, const FittedModel& m) {
  flatbuffers::FlatBufferBuilder b(1 << 20);
  auto prep = fb::CreatePreprocessing(b, static_cast<uint32_t>(m.prep.image_size), b.CreateString(m.prep.grayscale),
                                      b.CreateString(m.prep.interpolation), b.CreateString(m.prep.aspect),
                                      b.CreateString(m.prep.face_mode), b.CreateString(m.prep.equalize),
                                      b.CreateString(m.prep.embedding), static_cast<uint32_t>(m.prep.vector_dims()),
                                      b.CreateString(m.prep.embedding_model), b.CreateString(m.prep.chip));
  std::vector<flatbuffers::Offset<flatbuffers::String>> labels, paths;
  for (const auto& l : m.labels) labels.push_back(b.CreateString(l));
  for (const auto& p : m.train_paths) paths.push_back(b.CreateString(p));
  auto labels_v = b.CreateVector(labels);
  auto paths_v = b.CreateVector(paths);
  auto train_labels = b.CreateVector(m.train_labels);
  auto mean = b.CreateVector(m.pca.mean.data(), static_cast<size_t>(m.pca.mean.size()));
  auto comps = put_matrix(b, m.pca.components);
  auto var = b.CreateVector(m.pca.explained_variance.data(), static_cast<size_t>(m.pca.explained_variance.size()));
  auto pca = fb::CreatePca(b, mean, comps, var, m.whiten);
  auto reduced = put_matrix(b, m.reduced);
  auto umap2 = put_umap(b, m.umap2);
  flatbuffers::Offset<fb::Umap> umapn;
  if (m.umapn) umapn = put_umap(b, *m.umapn);
  const std::string blob = m.svm.serialize();
  auto svm = b.CreateVector(reinterpret_cast<const uint8_t*>(blob.data()), blob.size());
  auto dbl = b.CreateVector(m.dbscan_labels);
  auto created = b.CreateString(std::string("lumaflow ") + LUMAFLOW_VERSION);
  auto space = b.CreateString(classify_space_name(m.space));
  fb::ModelBuilder mb(b);
  mb.add_format_version(kModelFormatVersion);
  mb.add_created_by(created);
  mb.add_preprocessing(prep);
  mb.add_store_hash(m.store_hash);
  mb.add_labels(labels_v);
  mb.add_train_labels(train_labels);
  mb.add_train_paths(paths_v);
  mb.add_pca(pca);
  mb.add_reduced(reduced);
  mb.add_classify_space(space);
  mb.add_umap2(umap2);
  if (m.umapn) mb.add_umapn(umapn);
  mb.add_svm(svm);
  mb.add_svm_gamma(m.svm.gamma());
  mb.add_knn_k(m.knn_k);
  mb.add_open_set_threshold(m.open_set_threshold);
  mb.add_open_set_percentile(m.open_set_percentile);
  mb.add_min_faces(m.min_faces);
  mb.add_unknown_eps(m.unknown_eps);
  mb.add_dbscan_labels(dbl);
  mb.add_dbscan_eps(m.dbscan_eps);
  mb.add_heldout_accuracy(m.heldout_accuracy);
  mb.add_open_set_ratio(m.open_set_ratio);
  mb.add_open_set_frr(m.open_set_frr);
  mb.add_open_set_cv_frr(m.open_set_cv_frr);
  mb.add_svm_shortlist(m.shortlist);
  b.Finish(mb.Finish(), fb::ModelIdentifier());

  std::vector<uint8_t> file;
  append_frame(kModelMagic, b.GetBufferPointer(), b.GetSize(), file);
  try {
    write_file_atomic(path, file.data(), file.size());
  } catch (const FileError& e) {
    throw ModelError(e.what());
  }
}

FittedModel load_model(const std::filesystem::path& path) {
  const std::string where = path.string();
  std::shared_ptr<const MappedFile> map;
  try {
    map = MappedFile::open(path);
  } catch (const FileError& e) {
    throw ModelError(e.what());
  }
  const uint8_t* buf = map->data();
  size_t size = map->size();
  if (starts_with_magic(kModelMagic, buf, size)) {
    std::string why;
    const auto frame = read_frame(kModelMagic, buf, size, &why);
    if (!frame) throw ModelError(where + ": damaged model file (" + why + ")");
    if (frame->total != size) throw ModelError(where + ": damaged model file (bytes after the model)");
    buf = frame->payload;
    size = frame->size;
  }  // else format 1: a bare FlatBuffer without a checksum, still read
  if (size < 8 || !fb::ModelBufferHasIdentifier(buf)) throw ModelError(where + ": not a lumaflow model file");
  flatbuffers::Verifier v(buf, size, 64, 10000000);
  if (!fb::VerifyModelBuffer(v)) throw ModelError(where + ": damaged model file (FlatBuffers verification failed)");
  const fb::Model* f = fb::GetModel(buf);
  if (f->format_version() > kModelFormatVersion)
    throw ModelError(where + ": model format " + std::to_string(f->format_version()) + " is newer than this lumaflow");
  FittedModel m;
  if (!f->preprocessing() || !f->pca() || !f->svm()) throw ModelError(where + ": damaged model (missing sections)");
  const fb::Preprocessing* p = f->preprocessing();
  m.prep.image_size = static_cast<int>(p->image_size());
  m.prep.grayscale = s(p->grayscale());
  m.prep.interpolation = s(p->interpolation());
  m.prep.aspect = s(p->aspect());
  m.prep.face_mode = s(p->face_mode());
  m.prep.equalize = s(p->equalize());
  if (p->embedding() && p->embedding()->size() > 0) m.prep.embedding = p->embedding()->str();
  m.prep.embedding_model = s(p->embedding_model());
  m.prep.chip = s(p->chip());
  if (m.prep.learned()) m.prep.dims = static_cast<int>(p->dims());
  m.store_hash = f->store_hash();
  if (f->labels())
    for (const auto* l : *f->labels()) m.labels.push_back(s(l));
  m.train_labels = get_vec(f->train_labels());
  if (f->train_paths())
    for (const auto* l : *f->train_paths()) m.train_paths.push_back(s(l));
  m.pca.mean = to_vectorf(f->pca()->mean());
  m.pca.components = get_matrix(f->pca()->components(), "PCA components", where);
  m.pca.explained_variance = to_vectorf(f->pca()->explained_variance());
  m.whiten = f->pca()->whiten();
  m.reduced = get_matrix(f->reduced(), "reduced training", where);
  try {
    m.space = parse_classify_space(s(f->classify_space()));
  } catch (const std::invalid_argument& e) {
    throw ModelError(where + ": damaged model (" + e.what() + ")");
  }
  m.umap2 = get_umap(f->umap2(), where);
  if (f->umapn()) m.umapn = get_umap(f->umapn(), where);
  try {
    m.svm = SvmClassifier::deserialize(std::string(reinterpret_cast<const char*>(f->svm()->data()), f->svm()->size()));
  } catch (const std::exception& e) {
    throw ModelError(where + ": damaged model (SVM: " + e.what() + ")");
  }
  m.knn_k = f->knn_k();
  m.open_set_threshold = f->open_set_threshold();
  m.open_set_percentile = f->open_set_percentile();
  m.min_faces = f->min_faces();
  m.unknown_eps = f->unknown_eps();
  m.dbscan_labels = get_vec(f->dbscan_labels());
  m.dbscan_eps = f->dbscan_eps();
  m.heldout_accuracy = f->heldout_accuracy();
  m.open_set_ratio = f->open_set_ratio();
  m.open_set_frr = f->open_set_frr();
  m.open_set_cv_frr = f->open_set_cv_frr();
  m.shortlist = f->svm_shortlist();
  // Cross-checks the Verifier cannot make.
  const Eigen::Index n = m.reduced.rows(), k = m.reduced.cols();
  // Before vector_dims(), which squares it (fuzz_model: 1073741832² overflowed int).
  if (m.prep.image_size <= 0 || m.prep.image_size > 4096)
    throw ModelError(where + ": damaged model (image size " + std::to_string(m.prep.image_size) + ")");
  const int d = m.prep.vector_dims();
  bool ok = d > 0 && d <= 65536 * 4 && m.prep.image_size > 0 && m.prep.image_size <= 4096 && m.pca.mean.size() == d &&
            m.pca.components.cols() == d && m.pca.components.rows() == k && m.pca.explained_variance.size() == k &&
            static_cast<Eigen::Index>(m.train_labels.size()) == n && m.umap2.data.rows() == n && m.knn_k >= 1 &&
            m.knn_k <= n && !m.labels.empty() && (m.space != ClassifySpace::umapN || m.umapn.has_value());
  for (int l : m.train_labels) ok = ok && l >= 0 && static_cast<size_t>(l) < m.labels.size();
  const int svm_dims = m.space == ClassifySpace::pca     ? static_cast<int>(k)
                       : m.space == ClassifySpace::umap2 ? 2
                                                         : (m.umapn ? m.umapn->options.n_components : -1);
  ok = ok && m.svm.dims() == svm_dims;
  if (!ok) throw ModelError(where + ": damaged model (sections disagree in size)");
  if (const std::string p = value_problem(m); !p.empty()) throw ModelError(where + ": damaged model (" + p + ")");
  return m;
}

}  // namespace lumaflow
