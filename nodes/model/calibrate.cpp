#include "nodes/model/calibrate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>

#include "nodes/core/parallel.hpp"

namespace lumaflow {
namespace {

float quantile(std::vector<float> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return static_cast<float>(v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]));
}

RowMatrixF rows_of(MatrixRefF x, const std::vector<Eigen::Index>& idx) {
  RowMatrixF out(static_cast<Eigen::Index>(idx.size()), x.cols());
  for (size_t i = 0; i < idx.size(); ++i) out.row(static_cast<Eigen::Index>(i)) = x.row(idx[i]);
  return out;
}

RowSource rows_of(const RowSource& x, const std::vector<Eigen::Index>& idx) {
  return x.subset(std::vector<int>(idx.begin(), idx.end()));
}

}  // namespace

OpenSetCalibration calibrate_open_set(const RowSource& x, const Labels& y, const PcaModel& full, bool whiten,
                                      const FitReduction& refit, const CalibrationOptions& opt) {
  const Eigen::Index n = x.rows();
  if (static_cast<Eigen::Index>(y.size()) != n) throw std::invalid_argument("calibrate: one label per vector needed");
  if (!(opt.frr > 0 && opt.frr <= 0.5f)) throw std::invalid_argument("calibrate: frr must be in (0, 0.5]");
  OpenSetCalibration cal;
  cal.frr = opt.frr;
  cal.folds = std::clamp(opt.folds, 2, 20);

  // Stratified folds: each person's faces dealt round-robin after a seeded shuffle. A person
  // with one face is never scored (no other face of theirs to be near) and always trains.
  std::map<int, std::vector<Eigen::Index>> members;
  for (Eigen::Index i = 0; i < n; ++i) members[y[static_cast<size_t>(i)]].push_back(i);
  std::vector<int> fold(static_cast<size_t>(n), -1);
  std::mt19937_64 rng(opt.seed);
  for (auto& [label, idx] : members) {
    if (idx.size() < 2) continue;
    std::shuffle(idx.begin(), idx.end(), rng);
    for (size_t k = 0; k < idx.size(); ++k) fold[static_cast<size_t>(idx[k])] = static_cast<int>(k % cal.folds);
  }
  std::vector<Eigen::Index> eligible;
  for (Eigen::Index i = 0; i < n; ++i)
    if (fold[static_cast<size_t>(i)] >= 0) eligible.push_back(i);
  if (eligible.empty() || members.size() < 2)
    throw std::invalid_argument("calibrate: need two people and a person with two faces");
  std::vector<bool> scored(static_cast<size_t>(n), false);
  const double step = std::max(1.0, static_cast<double>(eligible.size()) / static_cast<double>(opt.max_scored));
  for (double p = 0; p < static_cast<double>(eligible.size()); p += step)
    scored[static_cast<size_t>(eligible[static_cast<size_t>(p)])] = true;

  const int people = members.rbegin()->first + 1;
  const bool refit_each = refit && n <= opt.refit_max;
  RowMatrixF z_all;
  if (!refit_each) z_all = full.transform(x, whiten);
  std::vector<float> dist, ratio;
  for (int f = 0; f < cal.folds; ++f) {
    std::vector<Eigen::Index> train, test;
    for (Eigen::Index i = 0; i < n; ++i) {
      if (fold[static_cast<size_t>(i)] != f)
        train.push_back(i);
      else if (scored[static_cast<size_t>(i)])
        test.push_back(i);
    }
    if (test.empty()) continue;
    RowMatrixF zt, zq;
    if (refit_each) {
      const PcaModel pca = refit(rows_of(x, train));
      zt = pca.transform(rows_of(x, train), whiten);
      zq = pca.transform(rows_of(x, test), whiten);
    } else {
      zt = rows_of(z_all, train);
      zq = rows_of(z_all, test);
    }
    std::vector<float> d(test.size()), r(test.size());
    parallel_for(static_cast<std::ptrdiff_t>(test.size()), opt.threads, [&](std::ptrdiff_t t) {
      const Eigen::VectorXf dd = (zt.rowwise() - zq.row(t)).rowwise().norm();
      std::vector<float> best(static_cast<size_t>(people), std::numeric_limits<float>::infinity());
      for (Eigen::Index j = 0; j < zt.rows(); ++j) {
        float& b = best[static_cast<size_t>(y[static_cast<size_t>(train[static_cast<size_t>(j)])])];
        b = std::min(b, dd(j));
      }
      std::partial_sort(best.begin(), best.begin() + 2, best.end());
      d[static_cast<size_t>(t)] = best[0];
      r[static_cast<size_t>(t)] = best[1] > 0 && std::isfinite(best[1]) ? best[0] / best[1] : 1.0f;
    });
    dist.insert(dist.end(), d.begin(), d.end());
    ratio.insert(ratio.end(), r.begin(), r.end());
  }
  cal.scored = dist.size();
  cal.distance = quantile(dist, 1.0 - opt.frr / 2);
  cal.ratio = quantile(ratio, 1.0 - opt.frr / 2);
  size_t rejected = 0;
  for (size_t i = 0; i < dist.size(); ++i) rejected += dist[i] > cal.distance || ratio[i] > cal.ratio;
  cal.cv_frr = static_cast<float>(rejected) / static_cast<float>(dist.size());
  return cal;
}

}  // namespace lumaflow
