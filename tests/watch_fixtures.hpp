// Shared by the watch tests (tests/image/test_watcher.cpp, tests/model/test_openset.cpp,
// tests/flow/test_watch.cpp, tests/cli/test_cli_watch.cpp): small synthetic faces, a small model
// fitted on them once per program, and file helpers.
#pragma once

// and the `lumaflow watch` / `lumaflow relabel` commands end to end (real binary, real signals).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <set>
#include <thread>

#include "cli_util.hpp"
#include "flow/watch.hpp"
#include "nodes/image/watcher.hpp"
#include "nodes/model/openset.hpp"
#include "nodes/store/store.hpp"
#include "nodes/synth/synth.hpp"
#include "test_util.hpp"

namespace lumaflow::watch_test {

namespace fs = std::filesystem;
using test::TempDir;
using json = nlohmann::json;

// "prefix<i>ext", built by appending (GCC 12 warns, falsely, on "lit" + std::to_string(i)).
inline std::string numbered(const char* prefix, long i, const char* ext) {
  std::string s(prefix);
  s += std::to_string(i);
  s += ext;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Synthetic faces and a tiny model.

inline std::vector<uint8_t> face_png(int person, int image, const std::string& ext = ".png") {
  const cv::Mat img = draw_face(make_identity(7, person), make_variation(7, person, image, 0.3), 48);
  return test::encode(img, ext);
}

inline EmbedOptions small_embed() {
  EmbedOptions e;
  e.size = 16;
  return e;
}

// 4 people x 8 images, 16x16 luminance, fitted by the model node itself.
inline const FittedModel& small_model() {
  static const FittedModel model = [] {
    const EmbedOptions e = small_embed();
    const int people = 4, per = 8;
    RowMatrixF x(people * per, e.size * e.size);
    Labels y;
    for (int p = 0; p < people; ++p)
      for (int i = 0; i < per; ++i) {
        const FrameResult r = process_bytes(face_png(p, i), "f.png", e);
        EXPECT_TRUE(r.ok()) << r.error;
        const auto row = static_cast<Eigen::Index>(y.size());
        for (Eigen::Index c = 0; c < x.cols(); ++c) x(row, c) = r.faces.at(0).pixels[static_cast<size_t>(c)] / 255.0f;
        y.push_back(p);
      }
    ModelOptions mo;
    mo.pca_components = 8;
    mo.min_faces = 3;
    mo.umap.n_neighbors = 8;
    mo.umap.n_epochs = 50;
    mo.threads = 1;
    FittedModel m = fit_model(x, y, mo);
    m.prep = e.preprocessing();
    m.labels = {"ann", "bob", "cat", "dan"};
    return m;
  }();
  return model;
}

inline fs::path saved_model(const TempDir& dir) {
  const fs::path p = dir / "faces.model";
  save_model(p, small_model());
  return p;
}

inline void write_file(const fs::path& p, const std::vector<uint8_t>& b) { test::write_bytes(p, b); }

inline std::string read_text(const fs::path& p) {
  const std::vector<uint8_t> b = test::read_all(p);
  return std::string(b.begin(), b.end());
}

// ---------------------------------------------------------------------------------------------
// The watcher.

// Events until `timeout_ms` passes without one; once `expect` events came, only a short grace
// period is given for unexpected extra ones (keeps the suite fast).
inline std::vector<std::string> drain(FolderWatcher& w, int timeout_ms, size_t expect = 0) {
  std::vector<std::string> out;
  while (auto e = w.poll(expect && out.size() >= expect ? 60 : timeout_ms))
    out.push_back(e->ok() ? e->rel : "ERROR " + e->error);
  return out;
}

// The open-set tracker's hand-checked geometry: eps 1, min_pts 3, 2-D.
inline OpenSetParams params2d() { return OpenSetParams{1.0f, 3, 2, 0xabcdef}; }

inline std::optional<std::string> add(UnknownTracker& t, float x, float y, const std::string& path = "p") {
  const float v[2] = {x, y};
  return t.add(v, path);
}

}  // namespace lumaflow::watch_test
