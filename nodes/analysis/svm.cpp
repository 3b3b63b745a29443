#include "nodes/analysis/svm.hpp"

#include <algorithm>
#include <bit>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <opencv2/core.hpp>
#include <opencv2/ml.hpp>
#include <stdexcept>

#include "nodes/core/parallel.hpp"

namespace lumaflow {

static_assert(std::endian::native == std::endian::little,
              "SvmClassifier::serialize writes the host byte order and assumes little-endian");

namespace {

constexpr char kMagic[8] = {'L', 'F', 'S', 'V', 'M', 'B', 'L', 'B'};
constexpr uint32_t kVersion = 1;
// Rows per kernel GEMM in batch prediction: large enough for GEMM speed, small enough that the
// block × n_sv kernel matrix stays in cache-friendly sizes.
constexpr Eigen::Index kBlockRows = 64;

uint64_t fnv1a(const char* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= 1099511628211ull;
  }
  return h;
}

class Writer {
 public:
  template <class T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    buf_.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void put_bytes(const void* p, size_t n) { buf_.append(static_cast<const char*>(p), n); }
  std::string& str() { return buf_; }

 private:
  std::string buf_;
};

class Reader {
 public:
  Reader(const char* p, size_t n) : p_(p), n_(n) {}
  template <class T>
  T get(const char* what) {
    T v;
    need(sizeof(T), what);
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  void get_bytes(void* dst, size_t n, const char* what) {
    need(n, what);
    if (n) std::memcpy(dst, p_ + pos_, n);
    pos_ += n;
  }
  size_t remaining() const { return n_ - pos_; }
  void need(size_t n, const char* what) const {
    if (n > n_ - pos_)
      throw std::runtime_error(std::string("SvmClassifier::deserialize: blob truncated while reading ") + what +
                               " (need " + std::to_string(n) + " bytes at offset " + std::to_string(pos_) + ", " +
                               std::to_string(n_ - pos_) + " left)");
  }

 private:
  const char* p_;
  size_t n_;
  size_t pos_ = 0;
};

[[noreturn]] void bad_blob(const std::string& why) { throw std::runtime_error("SvmClassifier::deserialize: " + why); }

}  // namespace

void SvmClassifier::fit(MatrixRefF x, const Labels& y, const SvmOptions& opt) {
  const Eigen::Index n = x.rows(), d = x.cols();
  if (n == 0 || d == 0) throw std::invalid_argument("SvmClassifier::fit: empty training matrix");
  if (static_cast<Eigen::Index>(y.size()) != n)
    throw std::invalid_argument("SvmClassifier::fit: " + std::to_string(n) + " rows but " + std::to_string(y.size()) +
                                " labels");
  if (d > INT_MAX || n > INT_MAX) throw std::invalid_argument("SvmClassifier::fit: matrix too large");
  if (!(opt.C > 0) || !std::isfinite(opt.C))
    throw std::invalid_argument("SvmClassifier::fit: C must be positive and finite");
  if (opt.gamma == 0 || !std::isfinite(opt.gamma))
    throw std::invalid_argument("SvmClassifier::fit: gamma must be positive (or negative for \"scale\")");
  for (size_t i = 0; i < y.size(); ++i)
    if (y[i] < 0)
      throw std::invalid_argument("SvmClassifier::fit: label " + std::to_string(y[i]) + " at row " + std::to_string(i) +
                                  " (labels must be >= 0)");

  // Population variance over all elements, two passes in double (sklearn: X.var()).
  double sum = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) {
      const float v = x(i, j);
      if (!std::isfinite(v))
        throw std::invalid_argument("SvmClassifier::fit: non-finite value at row " + std::to_string(i) + ", column " +
                                    std::to_string(j));
      sum += v;
    }
  }
  const double count = static_cast<double>(n) * static_cast<double>(d);
  const double mean = sum / count;
  double ss = 0;
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < d; ++j) {
      const double t = x(i, j) - mean;
      ss += t * t;
    }
  const double var = ss / count;
  const double gamma = opt.gamma > 0 ? opt.gamma : (var > 0 ? 1.0 / (static_cast<double>(d) * var) : 1.0);

  std::vector<int> classes(y.begin(), y.end());
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());

  SvmClassifier model;
  model.dims_ = static_cast<int>(d);
  model.gamma_ = gamma;
  model.C_ = opt.C;
  model.classes_ = classes;

  if (classes.size() > 1) {
    // OpenCV maps responses to class indices by sorting the distinct values; feeding it our own
    // sorted indices 0..k-1 makes its pair order (i < j) ours by construction.
    cv::Mat responses(static_cast<int>(n), 1, CV_32S);
    for (Eigen::Index i = 0; i < n; ++i)
      responses.at<int>(static_cast<int>(i)) = static_cast<int>(
          std::lower_bound(classes.begin(), classes.end(), y[static_cast<size_t>(i)]) - classes.begin());
    cv::Mat samples(static_cast<int>(n), static_cast<int>(d), CV_32F);
    for (Eigen::Index i = 0; i < n; ++i)
      std::memcpy(samples.ptr<float>(static_cast<int>(i)), x.row(i).data(), sizeof(float) * static_cast<size_t>(d));

    try {
      auto svm = cv::ml::SVM::create();
      svm->setType(cv::ml::SVM::C_SVC);
      svm->setKernel(cv::ml::SVM::RBF);
      svm->setC(opt.C);
      svm->setGamma(gamma);
      // libsvm's defaults: eps 1e-3 on the KKT gap, max(10^7, 100·n) iterations.
      const long long max_iter = std::max<long long>(10'000'000LL, 100LL * n);
      svm->setTermCriteria(cv::TermCriteria(cv::TermCriteria::EPS + cv::TermCriteria::COUNT,
                                            static_cast<int>(std::min<long long>(max_iter, INT_MAX)), 1e-3));
      if (!svm->train(samples, cv::ml::ROW_SAMPLE, responses))
        throw std::runtime_error("SvmClassifier::fit: OpenCV SVM training failed");

      const cv::Mat sv = svm->getSupportVectors();
      if (sv.type() != CV_32F || sv.cols != d || sv.rows <= 0)
        throw std::runtime_error("SvmClassifier::fit: unexpected support vector matrix from OpenCV");
      model.sv_.resize(sv.rows, d);
      for (int i = 0; i < sv.rows; ++i)
        std::memcpy(model.sv_.row(i).data(), sv.ptr<float>(i), sizeof(float) * static_cast<size_t>(d));

      const size_t k = classes.size();
      model.pairs_.resize(k * (k - 1) / 2);
      for (size_t p = 0; p < model.pairs_.size(); ++p) {
        cv::Mat alpha, index;
        auto& pm = model.pairs_[p];
        pm.rho = svm->getDecisionFunction(static_cast<int>(p), alpha, index);
        cv::Mat a64, i32;
        alpha.convertTo(a64, CV_64F);
        index.convertTo(i32, CV_32S);
        const int m = static_cast<int>(a64.total());
        if (static_cast<int>(i32.total()) != m)
          throw std::runtime_error("SvmClassifier::fit: inconsistent decision function from OpenCV");
        pm.alpha.assign(a64.ptr<double>(), a64.ptr<double>() + m);
        pm.sv_index.assign(i32.ptr<int>(), i32.ptr<int>() + m);
        for (int s : pm.sv_index)
          if (s < 0 || s >= sv.rows) throw std::runtime_error("SvmClassifier::fit: support vector index out of range");
      }
    } catch (const cv::Exception& e) {
      throw std::runtime_error(std::string("SvmClassifier::fit: OpenCV error: ") + e.what());
    }
  }
  model.finish_model();
  *this = std::move(model);
}

void SvmClassifier::finish_model() {
  sv_sq_norms_.resize(sv_.rows());
  for (Eigen::Index i = 0; i < sv_.rows(); ++i) sv_sq_norms_(i) = sv_.row(i).cast<double>().squaredNorm();
}

void SvmClassifier::check_ready(int dims) const {
  if (!fitted()) throw std::runtime_error("SvmClassifier: predict called before fit");
  if (dims != dims_)
    throw std::invalid_argument("SvmClassifier: got " + std::to_string(dims) + "-d input, model is " +
                                std::to_string(dims_) + "-d");
}

namespace {

// Index of pair (i, j), i < j, among k classes in row-major upper-triangle order.
inline size_t pair_index(int i, int j, int k) { return static_cast<size_t>(i * k - i * (i + 1) / 2 + (j - i - 1)); }

}  // namespace

template <class Kernel>
Prediction SvmClassifier::vote(const std::vector<int>& among, Kernel&& kern, std::vector<double>& f,
                               std::vector<int>& votes) const {
  const int k = static_cast<int>(classes_.size());
  const size_t m = among.size();
  // f and votes are indexed by position in `among` (m × m margins, oriented towards the row's class).
  f.assign(m * m, 0.0);
  votes.assign(m, 0);
  for (size_t a = 0; a < m; ++a)
    for (size_t b = a + 1; b < m; ++b) {
      const PairMachine& pm = pairs_[pair_index(among[a], among[b], k)];
      double sum = -pm.rho;
      for (size_t t = 0; t < pm.alpha.size(); ++t) sum += pm.alpha[t] * kern(pm.sv_index[t]);
      f[a * m + b] = sum;
      f[b * m + a] = -sum;
      ++votes[sum > 0 ? a : b];
    }
  size_t w = 0;  // first maximum: `among` is ascending, so ties go to the smaller label
  for (size_t a = 1; a < m; ++a)
    if (votes[a] > votes[w]) w = a;
  // Mean two-class softmax of the winner's margins.
  double conf = 0;
  for (size_t o = 0; o < m; ++o)
    if (o != w) conf += 1.0 / (1.0 + std::exp(-2.0 * f[w * m + o]));
  conf = m > 1 ? conf / static_cast<double>(m - 1) : 1.0;
  return {classes_[static_cast<size_t>(among[w])], static_cast<float>(std::clamp(conf, 0.0, 1.0))};
}

void SvmClassifier::predict_block(MatrixRefF xb, Prediction* out) const {
  const Eigen::Index nb = xb.rows();
  const int k = static_cast<int>(classes_.size());
  if (k == 1) {
    for (Eigen::Index r = 0; r < nb; ++r) out[r] = {classes_[0], 1.f};
    return;
  }
  const Eigen::Index nsv = sv_.rows();
  // ‖x − s‖² = ‖x‖² + ‖s‖² − 2 x·s: the dot products for the whole block in one GEMM.
  const RowMatrixF dots = xb * sv_.transpose();
  std::vector<double> kern(static_cast<size_t>(nsv)), f;
  std::vector<int> votes, all(static_cast<size_t>(k));
  std::iota(all.begin(), all.end(), 0);
  for (Eigen::Index r = 0; r < nb; ++r) {
    const double xn = xb.row(r).cast<double>().squaredNorm();
    for (Eigen::Index s = 0; s < nsv; ++s) {
      const double d2 = std::max(0.0, xn + sv_sq_norms_(s) - 2.0 * static_cast<double>(dots(r, s)));
      kern[static_cast<size_t>(s)] = std::exp(-gamma_ * d2);
    }
    out[r] = vote(
        all, [&](int32_t s) { return kern[static_cast<size_t>(s)]; }, f, votes);
  }
}

Prediction SvmClassifier::predict_among(const float* row, int dims, std::vector<int> candidates) const {
  check_ready(dims);
  if (row == nullptr) throw std::invalid_argument("SvmClassifier::predict_among: null row");
  const int k = static_cast<int>(classes_.size());
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  if (candidates.empty() || candidates.front() < 0 || candidates.back() >= k)
    throw std::invalid_argument("SvmClassifier::predict_among: candidates must be class indices in [0, " +
                                std::to_string(k) + ")");
  if (k == 1) return {classes_[0], 1.f};
  // Only the candidates' support vectors: their kernel values on first use.
  const Eigen::Map<const Eigen::RowVectorXf> x(row, dims);
  const double xn = x.cast<double>().squaredNorm();
  std::vector<double> kern(static_cast<size_t>(sv_.rows()), -1.0), f;
  std::vector<int> votes;
  auto kernel = [&](int32_t s) {
    double& v = kern[static_cast<size_t>(s)];
    if (v < 0) {
      const double d2 = std::max(0.0, xn + sv_sq_norms_(s) - 2.0 * static_cast<double>(x.dot(sv_.row(s))));
      v = std::exp(-gamma_ * d2);
    }
    return v;
  };
  return vote(candidates, kernel, f, votes);
}

Prediction SvmClassifier::predict_one(const float* row, int dims) const {
  check_ready(dims);
  if (row == nullptr) throw std::invalid_argument("SvmClassifier::predict_one: null row");
  Prediction p;
  predict_block(Eigen::Map<const RowMatrixF>(row, 1, dims), &p);
  return p;
}

int SvmClassifier::predict(const float* row, int dims) const { return predict_one(row, dims).label; }

std::vector<Prediction> SvmClassifier::predict(MatrixRefF x, int threads) const {
  check_ready(static_cast<int>(x.cols()));
  std::vector<Prediction> out(static_cast<size_t>(x.rows()));
  const Eigen::Index blocks = (x.rows() + kBlockRows - 1) / kBlockRows;
  parallel_for(blocks, threads, [&](std::ptrdiff_t b) {
    const Eigen::Index r0 = b * kBlockRows, rows = std::min(kBlockRows, x.rows() - r0);
    predict_block(x.middleRows(r0, rows), out.data() + r0);
  });
  return out;
}

std::string SvmClassifier::serialize() const {
  if (!fitted()) throw std::runtime_error("SvmClassifier::serialize: classifier is not fitted");
  Writer w;
  w.put_bytes(kMagic, sizeof kMagic);
  w.put(kVersion);
  w.put(static_cast<int32_t>(dims_));
  w.put(gamma_);
  w.put(C_);
  w.put(static_cast<int32_t>(classes_.size()));
  for (int c : classes_) w.put(static_cast<int32_t>(c));
  w.put(static_cast<int32_t>(sv_.rows()));
  w.put_bytes(sv_.data(), sizeof(float) * static_cast<size_t>(sv_.size()));
  for (const auto& pm : pairs_) {
    w.put(pm.rho);
    w.put(static_cast<int32_t>(pm.alpha.size()));
    w.put_bytes(pm.sv_index.data(), sizeof(int32_t) * pm.sv_index.size());
    w.put_bytes(pm.alpha.data(), sizeof(double) * pm.alpha.size());
  }
  const uint64_t sum = fnv1a(w.str().data(), w.str().size());
  w.put(sum);
  return std::move(w.str());
}

SvmClassifier SvmClassifier::deserialize(const std::string& blob) {
  if (blob.size() < sizeof kMagic + sizeof(uint64_t) || std::memcmp(blob.data(), kMagic, sizeof kMagic) != 0)
    bad_blob("not an SVM model blob (bad magic or too short)");
  const size_t body = blob.size() - sizeof(uint64_t);
  uint64_t stored;
  std::memcpy(&stored, blob.data() + body, sizeof stored);
  if (stored != fnv1a(blob.data(), body)) bad_blob("checksum mismatch (blob corrupted or truncated)");

  Reader r(blob.data(), body);
  char magic[sizeof kMagic];
  r.get_bytes(magic, sizeof magic, "magic");
  const auto version = r.get<uint32_t>("version");
  if (version != kVersion)
    bad_blob("unsupported version " + std::to_string(version) + " (expected " + std::to_string(kVersion) + ")");
  SvmClassifier m;
  m.dims_ = r.get<int32_t>("dims");
  m.gamma_ = r.get<double>("gamma");
  m.C_ = r.get<double>("C");
  if (m.dims_ <= 0) bad_blob("dims " + std::to_string(m.dims_) + " is not positive");
  if (!(m.gamma_ > 0) || !std::isfinite(m.gamma_)) bad_blob("gamma is not a positive number");
  if (!(m.C_ > 0) || !std::isfinite(m.C_)) bad_blob("C is not a positive number");
  const auto k = r.get<int32_t>("class count");
  if (k <= 0 || static_cast<size_t>(k) > r.remaining() / sizeof(int32_t))
    bad_blob("class count " + std::to_string(k) + " is invalid");
  m.classes_.resize(static_cast<size_t>(k));
  for (auto& c : m.classes_) c = r.get<int32_t>("class labels");
  for (size_t i = 0; i < m.classes_.size(); ++i)
    if (m.classes_[i] < 0 || (i > 0 && m.classes_[i] <= m.classes_[i - 1]))
      bad_blob("class labels are not non-negative and strictly increasing");
  const auto nsv = r.get<int32_t>("support vector count");
  if (nsv < 0 || (k > 1 && nsv == 0) || (k == 1 && nsv != 0))
    bad_blob("support vector count " + std::to_string(nsv) + " is invalid");
  const size_t sv_bytes = sizeof(float) * static_cast<size_t>(nsv) * static_cast<size_t>(m.dims_);
  r.need(sv_bytes, "support vectors");
  m.sv_.resize(nsv, m.dims_);
  r.get_bytes(m.sv_.data(), sv_bytes, "support vectors");
  m.pairs_.resize(static_cast<size_t>(k) * static_cast<size_t>(k - 1) / 2);
  for (auto& pm : m.pairs_) {
    pm.rho = r.get<double>("rho");
    const auto cnt = r.get<int32_t>("pair size");
    if (cnt < 0 || static_cast<size_t>(cnt) > r.remaining() / (sizeof(int32_t) + sizeof(double)))
      bad_blob("pair size " + std::to_string(cnt) + " is invalid");
    pm.sv_index.resize(static_cast<size_t>(cnt));
    pm.alpha.resize(static_cast<size_t>(cnt));
    r.get_bytes(pm.sv_index.data(), sizeof(int32_t) * pm.sv_index.size(), "support vector indices");
    r.get_bytes(pm.alpha.data(), sizeof(double) * pm.alpha.size(), "coefficients");
    for (int32_t s : pm.sv_index)
      if (s < 0 || s >= nsv) bad_blob("support vector index " + std::to_string(s) + " out of range");
    if (!std::isfinite(pm.rho)) bad_blob("non-finite rho");
    for (double a : pm.alpha)
      if (!std::isfinite(a)) bad_blob("non-finite coefficient");
  }
  if (r.remaining() != 0) bad_blob(std::to_string(r.remaining()) + " unexpected trailing bytes");
  m.finish_model();
  return m;
}

std::vector<Prediction> predict_nearest(const SvmClassifier& svm, MatrixRefF train, const Labels& y, MatrixRefF x,
                                        int m, int threads) {
  const std::vector<int> classes = svm.classes();
  const int k = static_cast<int>(classes.size());
  if (m <= 0 || m >= k) return svm.predict(x, threads);
  if (train.rows() != static_cast<Eigen::Index>(y.size()) || train.cols() != x.cols())
    throw std::invalid_argument("predict_nearest: need one label per training row and rows of the same width");
  std::vector<int> cls(y.size());  // each training row's class index
  for (size_t j = 0; j < y.size(); ++j) {
    const auto it = std::lower_bound(classes.begin(), classes.end(), y[j]);
    if (it == classes.end() || *it != y[j])
      throw std::invalid_argument("predict_nearest: training label " + std::to_string(y[j]) + " unknown to the SVM");
    cls[j] = static_cast<int>(it - classes.begin());
  }
  const Eigen::VectorXf train_sq = train.rowwise().squaredNorm();
  std::vector<Prediction> out(static_cast<size_t>(x.rows()));
  const Eigen::Index blocks = (x.rows() + kBlockRows - 1) / kBlockRows;
  parallel_for(blocks, threads, [&](std::ptrdiff_t b) {
    const Eigen::Index r0 = b * kBlockRows, rows = std::min(kBlockRows, x.rows() - r0);
    // ‖x − t‖² up to the row's own ‖x‖², which does not change its ranking of the classes.
    const RowMatrixF dots = x.middleRows(r0, rows) * train.transpose();
    std::vector<float> best(static_cast<size_t>(k));
    std::vector<int> order(static_cast<size_t>(k));
    for (Eigen::Index r = 0; r < rows; ++r) {
      std::fill(best.begin(), best.end(), std::numeric_limits<float>::infinity());
      for (Eigen::Index j = 0; j < train.rows(); ++j) {
        float& v = best[static_cast<size_t>(cls[static_cast<size_t>(j)])];
        v = std::min(v, train_sq(j) - 2.f * dots(r, j));
      }
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + m, order.end(), [&](int a, int c) {
        const float da = best[static_cast<size_t>(a)], dc = best[static_cast<size_t>(c)];
        return da < dc || (da == dc && a < c);
      });
      out[static_cast<size_t>(r0 + r)] = svm.predict_among(x.row(r0 + r).data(), static_cast<int>(x.cols()),
                                                           std::vector<int>(order.begin(), order.begin() + m));
    }
  });
  return out;
}

}  // namespace lumaflow
