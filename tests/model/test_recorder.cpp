// The recorder without a graph: answer lines, store, deferred error lines and write failures,
// driven by hand (no committer thread).
#include "nodes/model/recorder.hpp"

#include "watch_fixtures.hpp"

namespace lumaflow {
namespace {
using namespace lumaflow::watch_test;  // fs, json, TempDir and the fixtures

using Clock = std::chrono::steady_clock;

struct Arrival {
  ArrivedFile file;
  FrameResult result;
  std::vector<FaceAnswer> faces;
};

// Person p's image i, decoded and classified as the watch graph would.
Arrival arrival(const fs::path& dir, const std::string& rel, int person, int image) {
  Arrival a;
  a.file = {dir / rel, rel, true, Clock::now()};
  a.result = process_bytes(face_png(person, image), rel, small_embed());
  EXPECT_TRUE(a.result.ok()) << a.result.error;
  a.faces = classify_faces(small_model(), a.result.faces);
  return a;
}

Arrival broken(const fs::path& dir, const std::string& rel) {
  Arrival a;
  a.file = {dir / rel, rel, true, Clock::now()};
  a.result.error = "not an image";
  return a;
}

RecorderOptions by_hand(const fs::path& store = {}) {
  RecorderOptions o;
  o.store = store;
  o.background = false;
  o.error_grace = std::chrono::milliseconds(0);
  return o;
}

TEST(Recorder, LinesWaitForTheStoreAndNameThePeople) {
  TempDir d;
  const fs::path store = d / "s.store";
  std::vector<json> lines;
  Recorder rec(small_model(), by_hand(store), nullptr, [&](const std::string& l) { lines.push_back(json::parse(l)); });
  const std::vector<std::string> names = {"ann", "bob", "cat", "dan"};
  for (int p = 0; p < 4; ++p) {
    Arrival a = arrival(d.path(), "p" + std::to_string(p) + ".png", p, 1);
    rec.record(a.file, a.result, a.faces);
    EXPECT_EQ(a.faces.at(0).shown, names[static_cast<size_t>(p)]);  // training faces: their own person
  }
  EXPECT_TRUE(lines.empty()) << "no line before the store's commit";
  rec.commit();
  ASSERT_EQ(lines.size(), 4u);
  for (int p = 0; p < 4; ++p) {
    EXPECT_EQ(lines[static_cast<size_t>(p)]["label"], names[static_cast<size_t>(p)]);
    EXPECT_EQ(lines[static_cast<size_t>(p)]["status"], "known");
    EXPECT_EQ(lines[static_cast<size_t>(p)]["path"], (d.path() / ("p" + std::to_string(p) + ".png")).string());
  }
  const WatchSummary s = rec.finish();
  EXPECT_EQ(s.files, 4u);
  EXPECT_EQ(s.faces, 4u);
  EXPECT_EQ(s.known, 4u);
  EXPECT_EQ(s.stored, 4u);
  const EmbeddingStore st = load_store(store);
  ASSERT_EQ(st.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(st.record(i).path, "p" + std::to_string(i) + ".png");  // relative to the watched folder
    EXPECT_EQ(st.header().labels.at(static_cast<size_t>(st.record(i).label)), names[i]);
  }
}

TEST(Recorder, ErrorLineIsHeldBackAndReplacedWhenTheFileComesAgain) {
  TempDir d;
  std::vector<json> lines;
  RecorderOptions o = by_hand();
  o.error_grace = std::chrono::hours(1);
  Recorder rec(small_model(), o, nullptr, [&](const std::string& l) { lines.push_back(json::parse(l)); });
  Arrival bad = broken(d.path(), "a.png");
  rec.record(bad.file, bad.result, bad.faces);
  rec.tick();
  EXPECT_TRUE(lines.empty()) << "the error waits for its grace period";
  Arrival good = arrival(d.path(), "a.png", 2, 0);  // the writer finished the file
  rec.record(good.file, good.result, good.faces);
  Arrival other = broken(d.path(), "b.png");
  rec.record(other.file, other.result, other.faces);
  const WatchSummary s = rec.finish();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["label"], "cat");
  EXPECT_EQ(lines[1]["status"], "error");  // b.png never came again: its error at the end
  EXPECT_EQ(lines[1]["path"], (d / "b.png").string());
  EXPECT_EQ(s.files, 2u);
  EXPECT_EQ(s.errors, 1u);
}

TEST(Recorder, WatchErrorsAreNeverHeldBack) {
  TempDir d;
  std::vector<json> lines;
  RecorderOptions o = by_hand();
  o.error_grace = std::chrono::hours(1);
  Recorder rec(small_model(), o, nullptr, [&](const std::string& l) { lines.push_back(json::parse(l)); });
  Arrival bad = broken(d.path(), "");
  bad.file.is_file = false;
  rec.record(bad.file, bad.result, bad.faces);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["status"], "error");
  rec.finish();
}

TEST(Recorder, FailedAnswerStreamTakesTheSegmentBackAndStops) {
  TempDir d;
  const fs::path store = d / "s.store";
  int stops = 0;
  Recorder rec(
      small_model(), by_hand(store), nullptr, [](const std::string&) { throw std::runtime_error("disk full"); }, {},
      [&] { ++stops; });
  Arrival a = arrival(d.path(), "a.png", 0, 2);
  rec.record(a.file, a.result, a.faces);
  rec.commit();
  EXPECT_EQ(stops, 1);
  EXPECT_THROW(rec.finish(), WatchWriteError);
  // No line went out, so none of the faces may stay in the store.
  EXPECT_EQ(load_store(store).size(), 0u);
}

TEST(Recorder, FilesAfterAWriteFailureGetAnErrorLine) {
  TempDir d;
  std::vector<json> lines;
  bool fail_next = true;
  Recorder rec(small_model(), by_hand(), nullptr, [&](const std::string& l) {
    if (std::exchange(fail_next, false)) throw std::runtime_error("pipe closed");
    lines.push_back(json::parse(l));
  });
  Arrival a = arrival(d.path(), "a.png", 0, 2);
  Arrival b = arrival(d.path(), "b.png", 1, 2);
  rec.record(a.file, a.result, a.faces);  // no store: written at once, and the write fails
  rec.record(b.file, b.result, b.faces);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["status"], "error");
  EXPECT_NE(lines[0]["error"].get<std::string>().find("watch stopped"), std::string::npos);
  EXPECT_THROW(rec.finish(), WatchWriteError);
}

TEST(Recorder, UnknownFacesJoinProposedIdentities) {
  TempDir d;
  std::vector<json> lines;
  const int k = static_cast<int>(small_model().reduced.cols());
  UnknownTracker tracker(OpenSetParams{1e9f, 2, k, 1});  // every unknown face is close to every other
  Recorder rec(small_model(), by_hand(), &tracker, [&](const std::string& l) { lines.push_back(json::parse(l)); });
  for (int i = 0; i < 3; ++i) {
    Arrival a = arrival(d.path(), "x" + std::to_string(i) + ".png", 0, i);
    for (FaceAnswer& f : a.faces) {  // as the classifier answers a stranger
      f.answer.result.known = false;
      f.reduced.assign(static_cast<size_t>(k), 0.5f);
    }
    rec.record(a.file, a.result, a.faces);
  }
  const WatchSummary s = rec.finish();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(s.unknown, 3u);
  EXPECT_GE(s.proposed, 1u);
  EXPECT_EQ(lines[2]["status"], "unknown");
  EXPECT_EQ(lines[2]["label"], "new-1");
}

TEST(Recorder, MismatchedAnswersAreAFailureNotACrash) {
  TempDir d;
  Recorder rec(small_model(), by_hand(), nullptr, [](const std::string&) {});
  Arrival a = arrival(d.path(), "a.png", 0, 0);
  a.faces.clear();
  rec.record(a.file, a.result, a.faces);
  EXPECT_THROW(rec.finish(), std::logic_error);
}

}  // namespace
}  // namespace lumaflow
