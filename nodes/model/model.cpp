#include "nodes/model/model.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>
#include <set>

#include "nodes/analysis/dbscan.hpp"
#include "nodes/analysis/knn.hpp"
#include "nodes/core/checksum.hpp"
#include "nodes/core/hash.hpp"
#include "nodes/core/parallel.hpp"
#include "nodes/core/pixels.hpp"
#include "nodes/core/random.hpp"
#include "nodes/model/calibrate.hpp"

namespace lumaflow {

ClassifySpace parse_classify_space(const std::string& s) {
  if (s == "pca") return ClassifySpace::pca;
  if (s == "umap2") return ClassifySpace::umap2;
  if (s == "umapN" || s == "umapn") return ClassifySpace::umapN;
  throw std::invalid_argument("unknown classify space '" + s + "' (expected pca, umap2 or umapN)");
}

const char* classify_space_name(ClassifySpace s) {
  return s == ClassifySpace::umap2 ? "umap2" : s == ClassifySpace::umapN ? "umapN" : "pca";
}

RowMatrixF FittedModel::reduce(MatrixRefF raw) const { return reduce(RowSource(raw)); }

RowMatrixF FittedModel::reduce(const RowSource& raw) const {
  if (raw.cols() != dims())
    throw std::invalid_argument("model expects " + std::to_string(dims()) + "-d vectors, got " +
                                std::to_string(raw.cols()));
  // Row by row (a matrix-vector product each): a batched GEMM would round differently from a
  // single row, and a face's answer must not depend on what it is classified with.
  RowMatrixF z(raw.rows(), pca.components.rows());
  Eigen::VectorXf centred(raw.cols());
  for (Eigen::Index i = 0; i < raw.rows(); ++i) {
    raw.read(i, 0, raw.cols(), centred.data());
    centred -= pca.mean;
    z.row(i).noalias() = (pca.components * centred).transpose();
  }
  if (whiten)
    for (Eigen::Index j = 0; j < z.cols(); ++j)
      if (pca.explained_variance(j) > 0) z.col(j) /= std::sqrt(pca.explained_variance(j));
  return z;
}

namespace {

// Distance from every face to its nearest other face of the same person, per class block, so
// memory is O(largest class²) rather than O(n²).
std::vector<float> nearest_same_person(MatrixRefF z, const Labels& y) {
  std::map<int, std::vector<int>> members;
  for (size_t i = 0; i < y.size(); ++i) members[y[i]].push_back(static_cast<int>(i));
  std::vector<float> out;
  for (const auto& [label, idx] : members) {
    if (idx.size() < 2) continue;
    RowMatrixF sub(static_cast<Eigen::Index>(idx.size()), z.cols());
    for (size_t j = 0; j < idx.size(); ++j) sub.row(static_cast<Eigen::Index>(j)) = z.row(idx[j]);
    const KnnResult nn = exact_knn(sub, 1, /*exclude_self=*/true, 1);
    for (Eigen::Index j = 0; j < nn.distances.rows(); ++j) out.push_back(nn.distances(j, 0));
  }
  return out;
}

// Per-person nearest distances of one reduced row to the training set: (nearest, ratio).
std::pair<float, float> person_distances(const RowMatrixF& reduced, const Labels& labels, int people, const float* row,
                                         Eigen::Index skip, Eigen::VectorXf& dist, std::vector<float>* per_person) {
  const Eigen::Map<const Eigen::RowVectorXf> z(row, reduced.cols());
  dist = (reduced.rowwise() - z).rowwise().norm();
  std::vector<float> best(static_cast<size_t>(people), std::numeric_limits<float>::infinity());
  for (Eigen::Index j = 0; j < reduced.rows(); ++j) {
    if (j == skip) continue;
    float& b = best[static_cast<size_t>(labels[static_cast<size_t>(j)])];
    b = std::min(b, dist(j));
  }
  if (per_person) *per_person = best;
  std::partial_sort(best.begin(), best.begin() + 2, best.end());
  const float ratio = best[1] > 0 && std::isfinite(best[1]) ? best[0] / best[1] : 1.0f;
  return {best[0], ratio};
}

// The SVM's class indices of the `m` people nearest to a face (by their nearest training face),
// ties to the smaller label.
std::vector<int> nearest_people(const std::vector<float>& per_person, const std::vector<int>& classes, int m) {
  std::vector<int> order;
  for (int c : classes) order.push_back(c);  // labels the SVM knows, ascending
  m = std::min<int>(m, static_cast<int>(order.size()));
  std::partial_sort(order.begin(), order.begin() + m, order.end(), [&](int a, int b) {
    const float da = per_person[static_cast<size_t>(a)], db = per_person[static_cast<size_t>(b)];
    return da < db || (da == db && a < b);
  });
  std::vector<int> out;
  for (int j = 0; j < m; ++j)
    out.push_back(static_cast<int>(std::lower_bound(classes.begin(), classes.end(), order[static_cast<size_t>(j)]) -
                                   classes.begin()));
  return out;
}

// The distance that best separates same-person from different-person pairs of training faces:
// the t minimising (same pairs farther than t) / |same| + (different pairs within t) / |different|
// (the equal-error point of the two rates, weighted equally). Different pairs: all when there
// are at most 200,000, else 200,000 drawn with `seed`. O(min(n, 3000)²·d).
float pair_threshold(const RowMatrixF& x_all, const Labels& y_all, uint64_t seed) {
  // At most 3,000 evenly spaced faces (4.5 M pairs): O(n²·d) otherwise.
  const Eigen::Index step = std::max<Eigen::Index>(1, (x_all.rows() + 2999) / 3000);
  std::vector<int> rows;
  for (Eigen::Index i = 0; i < x_all.rows(); i += step) rows.push_back(static_cast<int>(i));
  RowMatrixF x(static_cast<Eigen::Index>(rows.size()), x_all.cols());
  for (size_t k = 0; k < rows.size(); ++k) x.row(static_cast<Eigen::Index>(k)) = x_all.row(rows[k]);
  Labels y;
  for (int r : rows) y.push_back(y_all[static_cast<size_t>(r)]);
  const Eigen::Index n = x.rows();
  std::vector<float> same, diff;
  const int64_t all_pairs = static_cast<int64_t>(n) * (n - 1) / 2;
  const int64_t cap = 200000;
  auto dist = [&](Eigen::Index i, Eigen::Index j) { return (x.row(i) - x.row(j)).norm(); };
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = i + 1; j < n; ++j)
      if (y[static_cast<size_t>(i)] == y[static_cast<size_t>(j)])
        same.push_back(dist(i, j));
      else if (all_pairs <= cap)
        diff.push_back(dist(i, j));
  if (all_pairs > cap) {
    std::mt19937_64 rng(seed);
    const auto pick = [&] { return static_cast<Eigen::Index>(below_multiply_shift(rng(), static_cast<uint32_t>(n))); };
    while (static_cast<int64_t>(diff.size()) < cap) {
      const Eigen::Index i = pick(), j = pick();
      if (y[static_cast<size_t>(i)] != y[static_cast<size_t>(j)]) diff.push_back(dist(i, j));
    }
  }
  if (same.empty() || diff.empty()) throw std::invalid_argument("fit: need two faces of one person and two people");
  std::sort(same.begin(), same.end());
  std::sort(diff.begin(), diff.end());
  // Candidates: midpoints between consecutive values of the merged sorted list.
  std::vector<float> all(same);
  all.insert(all.end(), diff.begin(), diff.end());
  std::sort(all.begin(), all.end());
  float best_t = all.back(), best_cost = 3.f;
  for (size_t k = 0; k + 1 < all.size(); ++k) {
    const float t = 0.5f * (all[k] + all[k + 1]);
    const double frr = static_cast<double>(same.end() - std::upper_bound(same.begin(), same.end(), t)) / same.size();
    const double far = static_cast<double>(std::upper_bound(diff.begin(), diff.end(), t) - diff.begin()) / diff.size();
    if (frr + far < best_cost) {
      best_cost = static_cast<float>(frr + far);
      best_t = t;
    }
  }
  return best_t;
}

float percentile(std::vector<float> v, float p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = std::clamp(p / 100.0, 0.0, 1.0) * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return static_cast<float>(v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]));
}

UmapOptions umap_options(const ModelOptions& opt, int components, Eigen::Index n) {
  UmapOptions u = opt.umap;
  u.n_components = components;
  u.seed = opt.seed;
  u.threads = opt.threads;
  u.n_neighbors = static_cast<int>(std::min<Eigen::Index>(u.n_neighbors, n - 1));
  return u;
}

}  // namespace

FittedModel fit_model(const RowSource& x, const Labels& y, const ModelOptions& opt) {
  const Eigen::Index n = x.rows();
  if (static_cast<Eigen::Index>(y.size()) != n) throw std::invalid_argument("fit: one label per vector needed");
  std::set<int> classes;
  for (int l : y) {
    if (l < 0) throw std::invalid_argument("fit: every training face needs a label (folder)");
    classes.insert(l);
  }
  if (classes.size() < 2)
    throw std::invalid_argument("fit: need at least 2 people, got " + std::to_string(classes.size()));
  if (n < 4) throw std::invalid_argument("fit: need at least 4 faces, got " + std::to_string(n));
  FittedModel m;
  m.train_labels = y;
  m.whiten = opt.whiten;
  m.space = opt.space;
  m.knn_k = std::max(1, std::min<int>(opt.knn_k, static_cast<int>(n)));
  m.min_faces = std::max(2, opt.min_faces);

  if (opt.pca_components > 0) {
    PcaOptions po;
    po.components = static_cast<int>(std::min<Eigen::Index>({opt.pca_components, n - 1, x.cols()}));
    po.seed = opt.seed;
    po.threads = opt.threads;
    m.pca = fit_pca(x, po);
  } else {
    m.pca = identity_basis(x.matrix());  // learned descriptors: d = 128
  }
  m.reduced = m.pca.transform(x, m.whiten);

  m.umap2 = umap_fit(m.reduced, umap_options(opt, 2, n));
  if (opt.space == ClassifySpace::umapN) m.umapn = umap_fit(m.reduced, umap_options(opt, opt.umapn_components, n));

  const RowMatrixF& space = opt.space == ClassifySpace::pca     ? m.reduced
                            : opt.space == ClassifySpace::umap2 ? m.umap2.embedding
                                                                : m.umapn->embedding;
  m.svm.fit(space, y, opt.svm);
  const int people = static_cast<int>(m.svm.classes().size());
  m.shortlist = opt.shortlist >= 0 ? opt.shortlist : default_shortlist(people);
  if (m.shortlist >= people) m.shortlist = 0;

  const std::vector<float> same = nearest_same_person(m.reduced, y);
  if (opt.open_set == OpenSetRule::pairs) {
    m.open_set_threshold = pair_threshold(m.reduced, y, opt.seed);
    m.open_set_ratio = 1.f;  // ratios are ≤ 1: the distance alone decides
  } else {
    CalibrationOptions co;
    co.frr = opt.open_set_frr;
    co.folds = opt.open_set_folds;
    co.seed = opt.seed;
    co.threads = opt.threads;
    FitReduction refit;
    if (opt.pca_components > 0)
      refit = [&](const RowSource& train) {
        PcaOptions po;
        po.components = static_cast<int>(std::min<Eigen::Index>({opt.pca_components, train.rows() - 1, train.cols()}));
        po.seed = opt.seed;
        po.threads = opt.threads;
        return fit_pca(train, po);
      };
    const OpenSetCalibration cal = calibrate_open_set(x, y, m.pca, m.whiten, refit, co);
    m.open_set_threshold = cal.distance;
    m.open_set_ratio = cal.ratio;
    m.open_set_frr = cal.frr;
    m.open_set_cv_frr = cal.cv_frr;
  }
  // Unknown faces of one new person should lie about as close together as a known person's do.
  m.unknown_eps = percentile(same, 50.f) * opt.open_set_margin;
  if (!(m.unknown_eps > 0)) m.unknown_eps = m.open_set_threshold;
  if (n > m.min_faces) {
    m.dbscan_eps = suggest_eps(m.reduced, m.min_faces, /*normalize=*/false, opt.threads);
    if (m.dbscan_eps > 0) {
      DbscanOptions d;
      d.eps = m.dbscan_eps;
      d.min_pts = m.min_faces;
      d.normalize = false;
      d.threads = opt.threads;
      m.dbscan_labels = dbscan(m.reduced, d);
    }
  }
  return m;
}

FittedModel with_space(const FittedModel& model, ClassifySpace space, const SvmOptions& svm) {
  if (space == ClassifySpace::umapN && !model.umapn)
    throw std::invalid_argument("with_space: the model holds no N-D UMAP");
  FittedModel m = model;
  m.space = space;
  const RowMatrixF& x = space == ClassifySpace::pca     ? m.reduced
                        : space == ClassifySpace::umap2 ? m.umap2.embedding
                                                        : m.umapn->embedding;
  m.svm = SvmClassifier();
  m.svm.fit(x, m.train_labels, svm);
  return m;
}

uint64_t store_hash(const EmbeddingStore& store) {
  Xxh3Stream h;
  const size_t row_bytes = store.dims() * (store.learned() ? sizeof(float) : 1);
  for (size_t i = 0; i < store.size(); ++i) {
    const RecordInfo& r = store.record(i);
    h.update(store.learned() ? static_cast<const void*>(store.vector(i)) : store.pixels(i), row_bytes);
    const uint64_t fields[] = {r.content_hash, static_cast<uint64_t>(static_cast<int64_t>(r.label)), r.path.size()};
    h.update(fields, sizeof fields);
    h.update(r.path.data(), r.path.size());
  }
  return h.digest();
}

FittedModel fit_model(const EmbeddingStore& store, const ModelOptions& opt, const Eigen::MatrixXd* gram) {
  std::vector<int> keep;
  for (size_t i = 0; i < store.size(); ++i)
    if (store.record(i).label >= 0) keep.push_back(static_cast<int>(i));
  if (keep.empty()) throw std::invalid_argument("fit: the store has no labelled faces (one sub-folder per person)");
  Labels y;
  std::vector<std::string> paths;
  // Labels are re-indexed to the people that actually have faces.
  std::map<int, int> remap;
  std::vector<std::string> names;
  for (size_t r = 0; r < keep.size(); ++r) {
    const auto i = static_cast<size_t>(keep[r]);
    const int l = store.record(i).label;
    auto it = remap.find(l);
    if (it == remap.end()) {
      it = remap.emplace(l, static_cast<int>(names.size())).first;
      names.push_back(store.header().labels[static_cast<size_t>(l)]);
    }
    y.push_back(it->second);
    paths.push_back(store.record(i).path);
  }
  const RowSource rows = gram ? store.rows().with_gram(*gram) : store.rows();
  FittedModel m = fit_model(rows.subset(keep), y, opt);  // the store's rows, not a copy
  m.prep = store.header().prep;
  m.labels = names;
  m.train_paths = paths;
  m.store_hash = store_hash(store);
  return m;
}

std::vector<Classification> classify(const FittedModel& m, MatrixRefF raw, int threads) {
  return classify_reduced(m, m.reduce(raw), threads);
}

std::vector<Classification> classify_reduced(const FittedModel& m, const RowMatrixF& z, int threads) {
  const Eigen::Index nq = z.rows();
  std::vector<Classification> out(static_cast<size_t>(nq));
  if (nq == 0) return out;
  const int k = static_cast<int>(std::min<Eigen::Index>(m.knn_k, m.reduced.rows()));
  // Distances one row at a time (a face's answer must not depend on its batch): the k nearest
  // training faces, and the nearest / second-nearest person for the open-set ratio.
  const int people = std::max(2, *std::max_element(m.train_labels.begin(), m.train_labels.end()) + 1);
  KnnResult nn;
  nn.indices.resize(nq, k);
  nn.distances.resize(nq, k);
  std::vector<float> ratio(static_cast<size_t>(nq));
  std::vector<std::vector<int>> shortlist(static_cast<size_t>(nq));
  const std::vector<int> classes = m.svm.classes();
  parallel_for(nq, threads, [&](std::ptrdiff_t i) {
    Eigen::VectorXf dist;
    std::vector<float> per_person;
    const RowMatrixF row = z.row(i);
    ratio[static_cast<size_t>(i)] =
        person_distances(m.reduced, m.train_labels, people, row.data(), -1, dist, &per_person).second;
    if (m.shortlist > 0) shortlist[static_cast<size_t>(i)] = nearest_people(per_person, classes, m.shortlist);
    std::vector<int32_t> idx(static_cast<size_t>(dist.size()));
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                      [&](int32_t a, int32_t b) { return dist(a) < dist(b) || (dist(a) == dist(b) && a < b); });
    for (int j = 0; j < k; ++j) {
      nn.indices(i, j) = idx[static_cast<size_t>(j)];
      nn.distances(i, j) = dist(idx[static_cast<size_t>(j)]);
    }
  });
  const RowMatrixF place = umap_transform(m.umap2, z);
  RowMatrixF placen;
  if (m.space == ClassifySpace::umapN) placen = umap_transform(*m.umapn, z);
  const RowMatrixF& space = m.space == ClassifySpace::pca ? z : m.space == ClassifySpace::umap2 ? place : placen;
  for (Eigen::Index i = 0; i < nq; ++i) {
    Classification& c = out[static_cast<size_t>(i)];
    const float* at = space.row(i).data();
    const int dims = static_cast<int>(space.cols());
    const Prediction p = m.shortlist > 0 ? m.svm.predict_among(at, dims, shortlist[static_cast<size_t>(i)])
                                         : m.svm.predict_one(at, dims);
    c.label = p.label;
    c.confidence = p.confidence;
    c.nearest = nn.distances(i, 0);
    c.ratio = ratio[static_cast<size_t>(i)];
    c.known = c.nearest <= m.open_set_threshold && c.ratio <= m.open_set_ratio;
    c.umap_x = place(i, 0);
    c.umap_y = place(i, 1);
    for (int j = 0; j < k; ++j) {
      const int idx = nn.indices(i, j);
      c.neighbors.push_back({idx, m.train_labels[static_cast<size_t>(idx)], nn.distances(i, j)});
    }
  }
  return out;
}

}  // namespace lumaflow
