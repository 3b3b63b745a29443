// Transform + classify latency per face against models fitted on 400 (orl), 5,000 and 20,000
// (synthetic) faces, one face at a time, as watch classifies them; the queries are one held-out
// face per person, and each run reports their accuracy (heldout_acc). Past kShortlistFrom people
// the model votes among the nearest people only; classify_one_all_pairs is the same model voting
// over every pair, for the comparison.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>

#include <opencv2/imgproc.hpp>
#include "flow/ingest.hpp"
#include "nodes/model/model.hpp"
#include "nodes/synth/synth.hpp"

using namespace lumaflow;
namespace fs = std::filesystem;

namespace {

// Synthetic training vectors: n faces of n/per people drawn by nodes/synth at 128².
void synthetic(int n, int per, RowMatrixF& x, Labels& y) {
  const int people = n / per;
  x.resize(people * per, 128 * 128);
  y.clear();
  for (int p = 0; p < people; ++p) {
    const SynthIdentity id = make_identity(42, p);
    for (int i = 0; i < per; ++i) {
      cv::Mat face = draw_face(id, make_variation(42, p, i, 0.5), 128), gray;
      cv::cvtColor(face, gray, cv::COLOR_BGR2GRAY);
      for (int r = 0; r < 128; ++r)
        for (int c = 0; c < 128; ++c) x(p * per + i, r * 128 + c) = gray.at<uint8_t>(r, c) / 255.0f;
      y.push_back(p);
    }
  }
}

struct Fixture {
  FittedModel model;   // as fit chooses (a shortlist past kShortlistFrom people)
  FittedModel all;     // the same model voting among every person (one-vs-one over all pairs)
  RowMatrixF queries;  // one held-out face per person
  Labels truth;
  double accuracy = 0, accuracy_all = 0;  // on the queries
};

double accuracy(const FittedModel& m, const RowMatrixF& q, const Labels& truth) {
  const auto c = classify(m, q, 2);
  int right = 0;
  for (size_t i = 0; i < c.size(); ++i) right += c[i].label == truth[i];
  return static_cast<double>(right) / static_cast<double>(c.size());
}

const Fixture& fixture(int n, int per) {
  static std::map<std::pair<int, int>, Fixture> cache;
  auto it = cache.find({n, per});
  if (it != cache.end()) return it->second;
  Fixture f;
  RowMatrixF x;
  Labels y;
  if (n == 400) {
    const char* env = std::getenv("LUMAFLOW_DATA");
    fs::path orl = env ? fs::path(env) / "orl" : fs::path("../shared/data/orl");
    if (!fs::is_directory(orl)) orl = "../../shared/data/orl";
    if (fs::is_directory(orl)) {
      const EmbeddingStore s = ingest_to_memory(orl, IngestOptions{}, nullptr);
      x = s.matrix();
      y = s.labels();
    }
  }
  if (x.rows() == 0) synthetic(n, per, x, y);
  // The last face of each person is held out: the queries are faces the model has not seen.
  std::vector<Eigen::Index> train, test;
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    (i + 1 == x.rows() || y[static_cast<size_t>(i + 1)] != y[static_cast<size_t>(i)] ? test : train).push_back(i);
  RowMatrixF xt(static_cast<Eigen::Index>(train.size()), x.cols());
  Labels yt;
  for (size_t i = 0; i < train.size(); ++i) {
    xt.row(static_cast<Eigen::Index>(i)) = x.row(train[i]);
    yt.push_back(y[static_cast<size_t>(train[i])]);
  }
  f.queries.resize(static_cast<Eigen::Index>(test.size()), x.cols());
  for (size_t i = 0; i < test.size(); ++i) {
    f.queries.row(static_cast<Eigen::Index>(i)) = x.row(test[i]);
    f.truth.push_back(y[static_cast<size_t>(test[i])]);
  }
  ModelOptions o;
  o.threads = 2;
  f.model = fit_model(xt, yt, o);
  f.all = f.model;
  f.all.shortlist = 0;
  f.accuracy = accuracy(f.model, f.queries, f.truth);
  f.accuracy_all = accuracy(f.all, f.queries, f.truth);
  return cache.emplace(std::make_pair(n, per), std::move(f)).first->second;
}

void run(benchmark::State& state, bool every_pair) {
  const Fixture& f = fixture(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  const FittedModel& m = every_pair ? f.all : f.model;
  Eigen::Index i = 0;
  for (auto _ : state) {
    auto r = classify(m, f.queries.row(i), 1);
    benchmark::DoNotOptimize(r);
    i = (i + 1) % f.queries.rows();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["heldout_acc"] = every_pair ? f.accuracy_all : f.accuracy;
  state.SetLabel("transform + classify one face, " + std::to_string(m.reduced.rows()) + " training faces of " +
                 std::to_string(m.svm.classes().size()) + " people, SVM vote among " +
                 (m.shortlist > 0 ? std::to_string(m.shortlist) + " nearest" : std::string("all")));
}

// As fit chooses (a shortlist of the nearest people past kShortlistFrom people).
void classify_one(benchmark::State& state) { run(state, false); }
// The same SVM voting over every pair of people.
void classify_one_all_pairs(benchmark::State& state) { run(state, true); }

}  // namespace

// (n, faces per person): orl is 400 faces of 40 people; the synthetic sets vary the number of
// people, which drives the one-vs-one SVM's cost (people² / 2 pairwise decisions).
BENCHMARK(classify_one)
    ->Args({400, 10})
    ->Args({5000, 50})
    ->Args({5000, 5})
    ->Args({20000, 200})
    ->Args({20000, 20})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(classify_one_all_pairs)->Args({5000, 5})->Args({20000, 20})->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
