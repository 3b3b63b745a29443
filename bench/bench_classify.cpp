// Transform + classify latency per face against models fitted on 400 (orl), 5,000 and 20,000
// (synthetic) faces, one face at a time, as watch classifies them.
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
  FittedModel model;
  RowMatrixF queries;
};

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
  ModelOptions o;
  o.threads = 2;
  f.model = fit_model(x, y, o);
  f.queries = x.topRows(std::min<Eigen::Index>(64, x.rows())).array() * 0.98f + 0.01f;
  return cache.emplace(std::make_pair(n, per), std::move(f)).first->second;
}

void classify_one(benchmark::State& state) {
  const Fixture& f = fixture(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  Eigen::Index i = 0;
  for (auto _ : state) {
    auto r = classify(f.model, f.queries.row(i), 1);
    benchmark::DoNotOptimize(r);
    i = (i + 1) % f.queries.rows();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("transform + classify one face, " + std::to_string(f.model.reduced.rows()) + " training faces of " +
                 std::to_string(f.model.svm.classes().size()) + " people");
}

}  // namespace

// (n, faces per person): orl is 400 faces of 40 people; the synthetic sets vary the number of
// people, which drives the one-vs-one SVM's cost (people² / 2 pairwise decisions).
BENCHMARK(classify_one)
    ->Args({400, 10})
    ->Args({5000, 50})
    ->Args({20000, 200})
    ->Args({20000, 20})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
