// The learned embedding end to end through the CLI: --embedding resnet on embed, inspect,
// export, fit and classify; a missing-weights error; and, on real data, the held-out / strangers
// figures the issue asks for.
//
// Weights: $LUMAFLOW_MODELS or the build's default (tools/setup.sh models); absent → skipped
// with a message, FAIL when CI=true. Real faces: $LUMAFLOW_DATA (skipped when absent).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cli_util.hpp"
#include "nodes/learned/resnet.hpp"
#include "nodes/store/store.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using lumaflow::test::run_cli;
using lumaflow::test::shell_quote;
using lumaflow::test::TempDir;

namespace {

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

#define REQUIRE_WEIGHTS()                                                                          \
  do {                                                                                             \
    try {                                                                                          \
      lumaflow::locate_models_dir();                                                               \
    } catch (const lumaflow::ModelsNotFound& e) {                                                  \
      if (in_ci()) FAIL() << "CI=true and the face recognition weights are missing: " << e.what(); \
      GTEST_SKIP() << e.what();                                                                    \
    }                                                                                              \
  } while (0)

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) v.push_back(nlohmann::json::parse(line));
  return v;
}

// Symlinks the listed people (all images) of a labelled set into dir/<person>/.
void link_people(const fs::path& set, const std::vector<std::string>& people, const fs::path& dir, int first = 0,
                 int last = 1 << 30) {
  for (const auto& p : people) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(set / p)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    fs::create_directories(dir / p);
    for (int i = first; i < std::min<int>(last, static_cast<int>(files.size())); ++i)
      fs::create_symlink(files[static_cast<size_t>(i)], dir / p / files[static_cast<size_t>(i)].filename());
  }
}

}  // namespace

TEST(CliLearned, MissingWeightsIsOneLineNamingTheSetUpCommand) {
  TempDir t;
  ASSERT_EQ(run_cli("synth " + shell_quote((t / "faces").string()) + " --identities 2 --per 2 --seed 3").code, 0);
  const auto r = run_cli("embed " + shell_quote((t / "faces").string()) + " --embedding resnet --models " +
                         shell_quote((t / "nothing-here").string()) + " -o " + shell_quote((t / "x.store").string()));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("tools/setup.sh models"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing-here"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(t / "x.store"));
}

TEST(CliLearned, EqualizeIsRefusedForTheLearnedEmbedding) {
  TempDir t;
  ASSERT_EQ(run_cli("synth " + shell_quote((t / "faces").string()) + " --identities 2 --per 2 --seed 3").code, 0);
  const auto r = run_cli("embed " + shell_quote((t / "faces").string()) + " --embedding resnet --equalize hist -o " +
                         shell_quote((t / "x.store").string()));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--equalize"), std::string::npos) << r.err;
}

// A resnet store and model round trip: what classify computes for a training image is exactly
// what embed stored (distance 0 to itself), the header says what the vectors are, export writes
// float32 vectors.
TEST(CliLearned, ResnetStoreAndModelRoundTrip) {
  REQUIRE_WEIGHTS();
  TempDir t;
  const std::string faces = (t / "faces").string(), store = (t / "f.store").string(), model = (t / "f.model").string();
  ASSERT_EQ(run_cli("synth " + shell_quote(faces) + " --identities 3 --per 6 --size 150 --seed 11").code, 0);
  auto r = run_cli("embed " + shell_quote(faces) + " --embedding resnet -o " + shell_quote(store));
  ASSERT_EQ(r.code, 0) << r.err;

  const lumaflow::EmbeddingStore s = lumaflow::load_store(store);
  ASSERT_TRUE(s.learned());
  EXPECT_EQ(s.header().prep.embedding, "resnet");
  EXPECT_EQ(s.dims(), 128u);
  ASSERT_EQ(s.size(), 18u);
  const lumaflow::Thumbnail th = s.thumbnail(0);
  ASSERT_NE(th.data, nullptr);
  EXPECT_EQ(th.channels, 3);
  EXPECT_GT(th.side, 8);
  // Descriptors of distinct images differ, and have the usual norm of dlib's descriptor.
  std::vector<float> a(128), b(128);
  s.row(0, a.data());
  s.row(7, b.data());
  double na = 0, dab = 0;
  for (int k = 0; k < 128; ++k) {
    na += a[k] * a[k];
    dab += (a[k] - b[k]) * (a[k] - b[k]);
  }
  EXPECT_GT(std::sqrt(na), 0.3);
  EXPECT_GT(dab, 0.0);

  r = run_cli("inspect " + shell_quote(store) + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("resnet"), std::string::npos) << r.out;

  r = run_cli("export " + shell_quote(store) + " --npy " + shell_quote((t / "x.npy").string()));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto npy = lumaflow::test::read_all(t / "x.npy");
  ASSERT_GT(npy.size(), 18u * 128 * 4);
  EXPECT_NE(std::string(npy.begin(), npy.begin() + 128).find("<f4"), std::string::npos);
  float first = 0;
  std::memcpy(&first, npy.data() + (npy.size() - 18u * 128 * 4), 4);
  EXPECT_EQ(first, a[0]);

  r = run_cli("fit " + shell_quote(store) + " -o " + shell_quote(model) + " --holdout 1");
  ASSERT_EQ(r.code, 0) << r.err;
  r = run_cli("classify " + shell_quote(model) + " " + shell_quote(faces));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 18u);
  for (const auto& j : lines) {
    ASSERT_TRUE(j.contains("distance")) << j.dump();
    EXPECT_LT(j["distance"].get<double>(), 1e-4) << j.dump();  // the stored vector, recomputed
    const std::string path = j["path"].get<std::string>();
    EXPECT_NE(path.find("/" + j["candidate"].get<std::string>() + "/"), std::string::npos) << j.dump();
  }
}

// The bar on real crops: held-out accuracy of the learned embedding on tvshow.
TEST(CliLearned, TvshowHeldOutWithResnet) {
  REQUIRE_WEIGHTS();
  LUMAFLOW_REQUIRE_DATA(tv, "tvshow");
  TempDir t;
  // 4 of each person's 5 faces to fit, the 5th to classify.
  std::vector<std::string> people;
  for (const auto& e : fs::directory_iterator(tv))
    if (e.is_directory()) people.push_back(e.path().filename().string());
  std::sort(people.begin(), people.end());
  link_people(tv, people, t / "train", 0, 4);
  link_people(tv, people, t / "test", 4, 5);
  auto r = run_cli("fit " + shell_quote((t / "train").string()) + " --embedding resnet -o " +
                   shell_quote((t / "m.model").string()));
  ASSERT_EQ(r.code, 0) << r.err;
  r = run_cli("classify " + shell_quote((t / "m.model").string()) + " " + shell_quote((t / "test").string()));
  ASSERT_EQ(r.code, 0) << r.err;
  int right = 0, n = 0;
  for (const auto& j : json_lines(r.out)) {
    ++n;
    const std::string path = j["path"].get<std::string>();
    right += j["status"] == "known" && path.find("/" + j["label"].get<std::string>() + "/") != std::string::npos;
  }
  ASSERT_EQ(n, static_cast<int>(people.size()));
  std::cerr << "tvshow held-out (resnet, asis, 4 fit / 1 test per person): " << right << " of " << n << "\n";
  EXPECT_GE(right, static_cast<int>(0.9 * n + 0.5));
}

namespace {

struct FrameScore {
  int right = 0, wrong = 0, unknown = 0, missed = 0;
};

// Scores classify's answer lines against tests/fixtures/tvshow_frames_truth.json: each truth face
// takes the answer whose box centre lies inside its box.
std::map<std::string, FrameScore> score_frames(const std::vector<nlohmann::json>& answers) {
  std::ifstream in(fs::path(LUMAFLOW_SOURCE_DIR) / "tests/fixtures/tvshow_frames_truth.json");
  const nlohmann::json truth = nlohmann::json::parse(in);
  std::map<std::string, FrameScore> out;
  for (const auto& [frame, faces] : truth["frames"].items()) {
    FrameScore& s = out[frame];
    for (const auto& f : faces) {
      const auto b = f["box"];
      const nlohmann::json* hit = nullptr;
      for (const auto& a : answers) {
        if (fs::path(a["path"].get<std::string>()).filename() != frame || !a.contains("box") || a["box"].is_null())
          continue;
        const double cx = a["box"][0].get<double>() + a["box"][2].get<double>() / 2;
        const double cy = a["box"][1].get<double>() + a["box"][3].get<double>() / 2;
        if (cx >= b[0].get<double>() && cx <= b[0].get<double>() + b[2].get<double>() && cy >= b[1].get<double>() &&
            cy <= b[1].get<double>() + b[3].get<double>())
          hit = &a;
      }
      if (!hit)
        ++s.missed;
      else if ((*hit)["status"] != "known")
        ++s.unknown;
      else if ((*hit)["label"] == f["name"])
        ++s.right;
      else
        ++s.wrong;
    }
  }
  return out;
}

// The model both frame tests use: the 40 tvshow crops, resnet on dlib chips (--faces align).
void fit_tvshow_resnet(const fs::path& tv, const fs::path& model) {
  const auto r = run_cli("fit " + shell_quote(tv.string()) + " --embedding resnet --faces align -o " +
                         shell_quote(model.string()));
  ASSERT_EQ(r.code, 0) << r.err;
}

}  // namespace

// The bar: fit on the 40 tvshow crops, name the cast in the five real TV frames.
TEST(CliLearned, TvshowFramesNamedRight) {
  REQUIRE_WEIGHTS();
  LUMAFLOW_REQUIRE_DATA(tv, "tvshow");
  LUMAFLOW_REQUIRE_DATA(frames, "tvshow-frames");
  TempDir t;
  ASSERT_NO_FATAL_FAILURE(fit_tvshow_resnet(tv, t / "tv.model"));
  const auto r = run_cli("classify " + shell_quote((t / "tv.model").string()) + " " + shell_quote(frames.string()) +
                         " --annotate " + shell_quote((t / "ann").string()));
  ASSERT_EQ(r.code, 0) << r.err;
  int right = 0, total = 0;
  for (const auto& [frame, s] : score_frames(json_lines(r.out))) {
    std::cerr << frame << ": right " << s.right << ", wrong " << s.wrong << ", unknown " << s.unknown << ", missed "
              << s.missed << "\n";
    right += s.right;
    total += s.right + s.wrong + s.unknown + s.missed;
  }
  EXPECT_EQ(total, 22);
  EXPECT_EQ(right, 22) << "cast faces named right";
  for (const char* f : {"bbt1", "bbt2", "bbt3", "bbt4", "bbt5"})
    EXPECT_TRUE(fs::exists(t / "ann" / ("tvshow-frames_" + std::string(f) + ".jpg.png"))) << f;
}

// Strangers: orl s37–s40 left out of the fit must come out unknown, while held-out faces of the
// people the model knows must not.
TEST(CliLearned, OrlStrangersWithResnet) {
  REQUIRE_WEIGHTS();
  LUMAFLOW_REQUIRE_DATA(orl, "orl");
  TempDir t;
  std::vector<std::string> known, strangers;
  for (int i = 1; i <= 40; ++i) (i <= 36 ? known : strangers).push_back("s" + std::to_string(i));
  link_people(orl, known, t / "train", 0, 8);
  link_people(orl, known, t / "test", 8, 10);
  link_people(orl, strangers, t / "strangers");
  auto r = run_cli("fit " + shell_quote((t / "train").string()) + " --embedding resnet --faces align -o " +
                   shell_quote((t / "m.model").string()));
  ASSERT_EQ(r.code, 0) << r.err;
  auto unknown_rate = [&](const fs::path& dir, int* right) {
    const auto c = run_cli("classify " + shell_quote((t / "m.model").string()) + " " + shell_quote(dir.string()));
    EXPECT_EQ(c.code, 0) << c.err;
    int unknown = 0, n = 0;
    for (const auto& j : json_lines(c.out)) {
      ++n;
      unknown += j["status"] != "known";
      if (right && j["status"] == "known")
        *right += j["path"].get<std::string>().find("/" + j["label"].get<std::string>() + "/") != std::string::npos;
    }
    return n ? static_cast<double>(unknown) / n : -1.0;
  };
  int right = 0;
  const double known_rejected = unknown_rate(t / "test", &right);
  const double strangers_unknown = unknown_rate(t / "strangers", nullptr);
  std::cerr << "orl resnet (align): strangers unknown " << strangers_unknown << ", held-out known rejected "
            << known_rejected << ", held-out right " << right << " of 72\n";
  EXPECT_GE(strangers_unknown, 0.0);
  EXPECT_GE(known_rejected, 0.0);
  EXPECT_GE(right, 68);
  // The targets, ≥ 0.90 / ≤ 0.05. The 287 training faces can be cross-validated at 2 %
  // (fit's auto rule), as pixels are; measured 1.00 / 0.042. With the pair rule (fit --open-set
  // pairs) it was 0.75 / 0.00.
  EXPECT_GE(strangers_unknown, 0.90);
  EXPECT_LE(known_rejected, 0.05);
}

// watch with a resnet model: the frames land in the watched folder; one line per face, named
// right (the same truth file), each face durable in the store before its line.
TEST(CliLearned, WatchNamesTheCastInArrivingFrames) {
  REQUIRE_WEIGHTS();
  LUMAFLOW_REQUIRE_DATA(tv, "tvshow");
  LUMAFLOW_REQUIRE_DATA(frames, "tvshow-frames");
  TempDir t;
  ASSERT_NO_FATAL_FAILURE(fit_tvshow_resnet(tv, t / "tv.model"));
  fs::create_directories(t / "in");
  const fs::path out = t / "answers.jsonl", store = t / "seen.store";
  // Start watching an empty folder, then let the frames arrive one by one (copy + rename).
  const std::string script =
      shell_quote(LUMAFLOW_CLI) + " watch " + shell_quote((t / "tv.model").string()) + " " +
      shell_quote((t / "in").string()) + " --store " + shell_quote(store.string()) + " --out " +
      shell_quote(out.string()) + " 2>" + shell_quote((t / "err").string()) +
      " & pid=$!; for i in $(seq 1200); do grep -q watching " + shell_quote((t / "err").string()) +
      " 2>/dev/null && break; sleep 0.1; done; for f in " + shell_quote(frames.string()) + "/*.jpg; do cp \"$f\" " +
      shell_quote((t / "in").string()) + "/.part && mv " + shell_quote((t / "in").string()) + "/.part " +
      shell_quote((t / "in").string()) +
      "/$(basename \"$f\"); sleep 0.3; done; for i in $(seq 300); do [ \"$(wc -l < " + shell_quote(out.string()) +
      " 2>/dev/null || echo 0)\" -ge 22 ] && break; sleep 0.1; done; kill -TERM $pid; wait $pid";
  const int status = std::system(("bash -c " + shell_quote(script)).c_str());
  ASSERT_TRUE(WIFEXITED(status)) << status;
  const auto err = lumaflow::test::read_all(t / "err");
  EXPECT_EQ(WEXITSTATUS(status), 0) << std::string(err.begin(), err.end());
  std::ifstream in(out);
  std::vector<nlohmann::json> answers;
  for (std::string l; std::getline(in, l);) answers.push_back(nlohmann::json::parse(l));
  ASSERT_EQ(answers.size(), 22u);
  int right = 0;
  for (const auto& [frame, s] : score_frames(answers)) right += s.right;
  EXPECT_EQ(right, 22);
  EXPECT_EQ(lumaflow::load_store(store).size(), 22u);  // every answered face is stored
}
