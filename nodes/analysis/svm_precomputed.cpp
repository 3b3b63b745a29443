#include "nodes/analysis/svm_precomputed.hpp"

#include <libsvm/svm.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>

#include "nodes/analysis/pca.hpp"
#include "nodes/core/distance.hpp"
#include "nodes/core/parallel.hpp"

namespace lumaflow {
namespace {

void quiet(const char*) {}

struct ModelDeleter {
  void operator()(svm_model* m) const { svm_free_and_destroy_model(&m); }
};

// One libsvm row for kernel PRECOMPUTED: node 0 holds the row's 1-based serial number (training
// rows) and node j the kernel value against training row j; libsvm indexes it densely.
void kernel_row(const Eigen::MatrixXd& sqdist, int row, const std::vector<int>& train, double gamma, double serial,
                svm_node* out) {
  out[0] = {0, serial};
  for (size_t j = 0; j < train.size(); ++j)
    out[j + 1] = {static_cast<int>(j + 1), std::exp(-gamma * sqdist(row, train[j]))};
  out[train.size() + 1] = {-1, 0};
}

}  // namespace

Eigen::MatrixXd squared_distances_from_gram(const Eigen::MatrixXd& gram, const std::vector<int>& idx) {
  const auto n = static_cast<Eigen::Index>(idx.size());
  Eigen::MatrixXd d(n, n);
  for (Eigen::Index j = 0; j < n; ++j) {
    const int b = idx[static_cast<size_t>(j)];
    for (Eigen::Index i = 0; i < n; ++i) {
      const int a = idx[static_cast<size_t>(i)];
      d(i, j) = std::max(0.0, gram_squared_l2(gram, a, b));
    }
  }
  return d;
}

Eigen::MatrixXd squared_distances(MatrixRefF x) {
  const Eigen::MatrixXd g = gram_matrix(x);  // exact for pixel rows, double otherwise
  std::vector<int> all(static_cast<size_t>(x.rows()));
  std::iota(all.begin(), all.end(), 0);
  return squared_distances_from_gram(g, all);
}

PrecomputedSvmResult precomputed_svm(const Eigen::MatrixXd& sqdist, const std::vector<int>& train, const Labels& ytrain,
                                     const std::vector<int>& test, double C, double gamma, int threads) {
  if (train.size() != ytrain.size() || train.empty())
    throw std::invalid_argument("precomputed_svm: one label per training row needed");
  if (!(C > 0) || !(gamma > 0)) throw std::invalid_argument("precomputed_svm: C and gamma must be > 0");
  for (int i : train)
    if (i < 0 || i >= sqdist.rows()) throw std::invalid_argument("precomputed_svm: training row out of range");
  for (int i : test)
    if (i < 0 || i >= sqdist.rows()) throw std::invalid_argument("precomputed_svm: test row out of range");
  for (int l : ytrain)
    if (l < 0) throw std::invalid_argument("precomputed_svm: labels must be >= 0");
  svm_set_print_string_function(quiet);  // libsvm prints its progress to stdout otherwise

  // Training rows in label order: libsvm orders classes by first appearance, and its vote gives a
  // tie to the first class, so this makes ties go to the smaller label.
  std::vector<size_t> order(train.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ytrain[a] < ytrain[b]; });
  std::vector<int> rows(train.size());
  std::vector<double> y(train.size());
  for (size_t i = 0; i < order.size(); ++i) rows[i] = train[order[i]], y[i] = ytrain[order[i]];

  const size_t l = rows.size(), width = l + 2;
  std::vector<svm_node> nodes(l * width);
  std::vector<svm_node*> x(l);
  parallel_for(static_cast<std::ptrdiff_t>(l), threads, [&](std::ptrdiff_t i) {
    const auto r = static_cast<size_t>(i);
    kernel_row(sqdist, rows[r], rows, gamma, static_cast<double>(r + 1), &nodes[r * width]);
  });
  for (size_t i = 0; i < l; ++i) x[i] = &nodes[i * width];

  svm_problem prob{};
  prob.l = static_cast<int>(l);
  prob.y = y.data();
  prob.x = x.data();
  svm_parameter param{};
  param.svm_type = C_SVC;
  param.kernel_type = PRECOMPUTED;
  param.gamma = gamma;  // unused by PRECOMPUTED; kept for the record
  param.cache_size = 100;
  param.eps = 1e-3;
  param.C = C;
  param.shrinking = 1;
  if (const char* err = svm_check_parameter(&prob, &param))
    throw std::invalid_argument(std::string("precomputed_svm: ") + err);
  const std::unique_ptr<svm_model, ModelDeleter> model(svm_train(&prob, &param));
  if (!model) throw std::runtime_error("precomputed_svm: libsvm training failed");

  PrecomputedSvmResult out;
  out.support_vectors = svm_get_nr_sv(model.get());
  out.predicted.resize(test.size());
  const ptrdiff_t block = 64;
  const ptrdiff_t blocks = (static_cast<ptrdiff_t>(test.size()) + block - 1) / block;
  parallel_for(blocks, threads, [&](std::ptrdiff_t b) {
    std::vector<svm_node> row(width);
    const size_t end = std::min(test.size(), static_cast<size_t>((b + 1) * block));
    for (size_t t = static_cast<size_t>(b * block); t < end; ++t) {
      kernel_row(sqdist, test[t], rows, gamma, 0, row.data());
      out.predicted[t] = static_cast<int>(std::lround(svm_predict(model.get(), row.data())));
    }
  });
  return out;
}

}  // namespace lumaflow
