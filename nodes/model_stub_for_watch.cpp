// TEMP stub for the watch branch: a trivial stand-in for nodes/model.cpp (being written on
// main) so watch can be built and tested. Nearest centroid in PCA space, binary save/load.
// DROP THIS FILE when the real model implementation lands.
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include "nodes/model.hpp"

namespace lumaflow {

ClassifySpace parse_classify_space(const std::string& s) {
  if (s == "pca") return ClassifySpace::pca;
  if (s == "umap2") return ClassifySpace::umap2;
  if (s == "umapN") return ClassifySpace::umapN;
  throw std::invalid_argument("unknown classify space '" + s + "'");
}
const char* classify_space_name(ClassifySpace s) {
  return s == ClassifySpace::umap2 ? "umap2" : s == ClassifySpace::umapN ? "umapN" : "pca";
}

RowMatrixF FittedModel::reduce(MatrixRefF raw) const { return pca.transform(raw, whiten); }

FittedModel fit_model(MatrixRefF x, const Labels& y, const ModelOptions& opt) {
  if (x.rows() < 3 || static_cast<size_t>(x.rows()) != y.size()) throw std::invalid_argument("stub fit: bad input");
  FittedModel m;
  PcaOptions po;
  po.components = std::min<int>(opt.pca_components, static_cast<int>(x.rows()) - 1);
  po.seed = opt.seed;
  m.pca = fit_pca(x, po);
  m.reduced = m.pca.transform(x);
  m.train_labels = y;
  int people = 0;
  for (int l : y) people = std::max(people, l + 1);
  for (int i = 0; i < people; ++i) m.labels.push_back("p" + std::to_string(i));
  m.min_faces = opt.min_faces;
  m.knn_k = opt.knn_k;
  float worst = 0;
  for (Eigen::Index i = 0; i < m.reduced.rows(); ++i) {
    float best = std::numeric_limits<float>::max();
    for (Eigen::Index j = 0; j < m.reduced.rows(); ++j)
      if (i != j && y[i] == y[j]) best = std::min(best, (m.reduced.row(i) - m.reduced.row(j)).norm());
    if (best < std::numeric_limits<float>::max()) worst = std::max(worst, best);
  }
  m.open_set_threshold = worst * opt.open_set_margin;
  m.unknown_eps = m.open_set_threshold;
  return m;
}

FittedModel fit_model(const EmbeddingStore& store, const ModelOptions& opt) {
  FittedModel m = fit_model(store.matrix(), store.labels(), opt);
  m.prep = store.header().prep;
  m.labels = store.header().labels;
  return m;
}

std::vector<Classification> classify(const FittedModel& m, MatrixRefF raw, int) {
  const RowMatrixF z = m.reduce(raw);
  std::vector<Classification> out(static_cast<size_t>(z.rows()));
  for (Eigen::Index r = 0; r < z.rows(); ++r) {
    Classification& c = out[static_cast<size_t>(r)];
    c.nearest = std::numeric_limits<float>::max();
    for (Eigen::Index j = 0; j < m.reduced.rows(); ++j) {
      const float d = (z.row(r) - m.reduced.row(j)).norm();
      if (d < c.nearest) {
        c.nearest = d;
        c.label = m.train_labels[static_cast<size_t>(j)];
      }
    }
    c.known = c.nearest <= m.open_set_threshold;
    c.confidence = 1.f / (1.f + c.nearest);
    c.neighbors.push_back({0, c.label, c.nearest});
  }
  return out;
}

uint64_t store_hash(const EmbeddingStore&) { return 0; }

namespace {
void put_str(std::ofstream& o, const std::string& s) {
  uint32_t n = static_cast<uint32_t>(s.size());
  o.write(reinterpret_cast<const char*>(&n), 4);
  o.write(s.data(), n);
}
void put_mat(std::ofstream& o, const RowMatrixF& m) {
  int64_t r = m.rows(), c = m.cols();
  o.write(reinterpret_cast<const char*>(&r), 8);
  o.write(reinterpret_cast<const char*>(&c), 8);
  o.write(reinterpret_cast<const char*>(m.data()), static_cast<std::streamsize>(sizeof(float) * r * c));
}
struct In {
  std::ifstream& i;
  std::string path;
  void raw(void* p, size_t n) {
    i.read(static_cast<char*>(p), static_cast<std::streamsize>(n));
    if (!i) throw ModelError(path + ": truncated or damaged model file");
  }
  std::string str() {
    uint32_t n;
    raw(&n, 4);
    if (n > (1u << 20)) throw ModelError(path + ": damaged model file");
    std::string s(n, '\0');
    raw(s.data(), n);
    return s;
  }
  RowMatrixF mat() {
    int64_t r, c;
    raw(&r, 8);
    raw(&c, 8);
    if (r < 0 || c < 0 || r * c > (int64_t{1} << 30)) throw ModelError(path + ": damaged model file");
    RowMatrixF m(r, c);
    raw(m.data(), sizeof(float) * static_cast<size_t>(r * c));
    return m;
  }
};
}  // namespace

void save_model(const std::filesystem::path& path, const FittedModel& m) {
  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream o(tmp, std::ios::binary);
    o.write("LFSTUBM1", 8);
    put_str(o, m.prep.aspect);
    put_str(o, m.prep.face_mode);
    put_str(o, m.prep.equalize);
    int32_t ints[3] = {m.prep.image_size, m.min_faces, static_cast<int32_t>(m.labels.size())};
    o.write(reinterpret_cast<const char*>(ints), sizeof ints);
    float f[2] = {m.open_set_threshold, m.unknown_eps};
    o.write(reinterpret_cast<const char*>(f), sizeof f);
    for (const auto& l : m.labels) put_str(o, l);
    RowMatrixF y(1, static_cast<Eigen::Index>(m.train_labels.size()));
    for (size_t i = 0; i < m.train_labels.size(); ++i) y(0, static_cast<Eigen::Index>(i)) = static_cast<float>(m.train_labels[i]);
    put_mat(o, y);
    put_mat(o, RowMatrixF(m.pca.mean.transpose()));
    put_mat(o, m.pca.components);
    put_mat(o, m.reduced);
    if (!o) throw ModelError(path.string() + ": cannot write");
  }
  std::filesystem::rename(tmp, path);
}

FittedModel load_model(const std::filesystem::path& path) {
  std::ifstream i(path, std::ios::binary);
  if (!i) throw ModelError(path.string() + ": cannot open model file");
  In in{i, path.string()};
  char magic[8];
  in.raw(magic, 8);
  if (std::memcmp(magic, "LFSTUBM1", 8) != 0) throw ModelError(path.string() + ": not a lumaflow model file");
  FittedModel m;
  m.prep.aspect = in.str();
  m.prep.face_mode = in.str();
  m.prep.equalize = in.str();
  int32_t ints[3];
  in.raw(ints, sizeof ints);
  m.prep.image_size = ints[0];
  m.min_faces = ints[1];
  float f[2];
  in.raw(f, sizeof f);
  m.open_set_threshold = f[0];
  m.unknown_eps = f[1];
  for (int k = 0; k < ints[2]; ++k) m.labels.push_back(in.str());
  const RowMatrixF y = in.mat();
  for (Eigen::Index k = 0; k < y.cols(); ++k) m.train_labels.push_back(static_cast<int>(y(0, k)));
  m.pca.mean = in.mat().row(0).transpose();
  m.pca.components = in.mat();
  m.reduced = in.mat();
  if (m.pca.components.cols() != m.pca.mean.size() || m.reduced.rows() != y.cols())
    throw ModelError(path.string() + ": damaged model file");
  return m;
}

}  // namespace lumaflow
