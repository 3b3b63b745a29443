// UnknownTracker: proposed identities among unknown faces, and its sidecar.
#include "watch_fixtures.hpp"

namespace lumaflow {
namespace {
using namespace lumaflow::watch_test;  // fs, json, TempDir and the fixtures

// ---------------------------------------------------------------------------------------------
// The open-set tracker (hand-checked geometry: eps 1, min_pts 3, 2-D).

TEST(OpenSet, ProposesAfterMinFacesAndKeepsNamesStable) {
  UnknownTracker t(params2d());
  EXPECT_FALSE(add(t, 0, 0));
  EXPECT_FALSE(add(t, 10, 10));
  EXPECT_FALSE(add(t, 0.5f, 0));        // two close faces: not yet min_pts
  EXPECT_EQ(add(t, 0, 0.5f), "new-1");  // three faces pairwise within 1: a core group
  EXPECT_EQ(t.identity_of(0), 1);
  EXPECT_EQ(t.identity_of(2), 1);
  EXPECT_EQ(t.identity_of(1), 0);
  EXPECT_FALSE(add(t, 10.5f, 10));
  EXPECT_EQ(add(t, 10, 10.5f), "new-2");
  EXPECT_EQ(t.identity_of(1), 2);
  EXPECT_EQ(add(t, 0.9f, 0.4f), "new-1");  // within eps of a member (0.5, 0)
  EXPECT_FALSE(add(t, 5, 5));
  // Growing new-1 further right keeps its name.
  EXPECT_EQ(add(t, 1.7f, 0.4f), "new-1");
  ASSERT_EQ(t.identities().size(), 2u);
  EXPECT_EQ(t.identities()[0].key, "new-1");
  EXPECT_EQ(t.identities()[1].key, "new-2");
}

TEST(OpenSet, PersistsContinuesAndRelabels) {
  TempDir d;
  const fs::path side = UnknownTracker::sidecar_for(d / "m.model");
  EXPECT_EQ(side.filename(), "m.model.identities.json");
  {
    UnknownTracker t(params2d(), side);
    add(t, 0, 0, "a");
    add(t, 0.5f, 0, "b");
    EXPECT_EQ(add(t, 0, 0.5f, "c"), "new-1");
    add(t, 20, 20, "lonely");
    t.save();
    EXPECT_FALSE(t.dirty());
  }
  const json j = json::parse(std::ifstream(side));
  EXPECT_EQ(j["format"], "lumaflow-identities");
  EXPECT_EQ(j["unknowns"].size(), 4u);
  EXPECT_EQ(j["unknowns"][3]["path"], "lonely");
  EXPECT_TRUE(j["unknowns"][3]["identity"].is_null());

  {
    UnknownTracker t2(params2d(), side);
    EXPECT_EQ(t2.size(), 4u);
    EXPECT_EQ(add(t2, 0.2f, 0.2f), "new-1");
    EXPECT_FALSE(add(t2, 20.5f, 20));
    EXPECT_EQ(add(t2, 20, 20.5f), "new-2");  // ids continue after a reload

    // relabel works while a tracker (a watch) holds the sidecar.
    EXPECT_EQ(relabel_identity(side, "new-1", "Alice"), "new-1");
    EXPECT_TRUE(t2.refresh_names());
    EXPECT_EQ(add(t2, 0.3f, 0), "Alice");
    EXPECT_THROW(relabel_identity(side, "new-9", "Bob"), std::runtime_error);
    t2.save();  // keeps Alice (written by relabel while t2 was live)
    EXPECT_EQ(relabel_identity(side, "new-2", "Bob"), "new-2");
    EXPECT_THROW(relabel_identity(side, "new-1", "Bob"), std::runtime_error);  // name taken
    EXPECT_EQ(relabel_identity(side, "Alice", "Alicia"), "new-1");             // by current name
  }
  {
    UnknownTracker t3(params2d(), side);
    ASSERT_EQ(t3.identities().size(), 2u);
    EXPECT_EQ(t3.identities()[0].display(), "Alicia");
    EXPECT_EQ(t3.identities()[1].display(), "Bob");
    EXPECT_EQ(t3.size(), 8u);  // 4 saved + 4 added by t2
  }

  OpenSetParams other = params2d();
  other.model_key = 1;
  try {
    UnknownTracker t(other, side);
    FAIL() << "a sidecar of another model was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("another model"), std::string::npos) << e.what();
  }
  test::write_text(side, "{ not json");
  EXPECT_THROW(UnknownTracker(params2d(), side), std::runtime_error);
}

// Issue 11, item 6: the sidecar is checksummed (a damaged one is refused naming it, by the
// tracker and by relabel) and locked (a second tracker is refused naming the process).
TEST(OpenSet, SidecarIsChecksummedAndADamagedOneRefused) {
  TempDir d;
  const fs::path side = UnknownTracker::sidecar_for(d / "m.model");
  {
    UnknownTracker t(params2d(), side);
    add(t, 0, 0, "a");
    add(t, 0.5f, 0, "b");
    EXPECT_EQ(add(t, 0, 0.5f, "c"), "new-1");
    t.save();
  }
  const std::string text = read_text(side);
  const json j = json::parse(text);
  EXPECT_EQ(j["version"], 2);
  ASSERT_TRUE(j.contains("checksum"));
  EXPECT_EQ(j["checksum"].get<std::string>().size(), 16u);
  // Every single-character change inside the content is refused (or is not JSON at all).
  size_t refused = 0, tried = 0;
  for (size_t pos = 1; pos + 1 < text.size(); pos += 3) {
    std::string bad = text;
    bad[pos] = static_cast<char>(bad[pos] ^ 1);
    ++tried;
    test::write_text(side, bad);
    try {
      UnknownTracker t(params2d(), side);
      ADD_FAILURE() << "accepted a change at byte " << pos << ": " << bad.substr(pos > 20 ? pos - 20 : 0, 40);
    } catch (const std::runtime_error& e) {
      ++refused;
      const std::string what = e.what();
      EXPECT_EQ(what.rfind(side.string(), 0), 0u) << what;  // names the file first
      EXPECT_EQ(what.find('\n'), std::string::npos);
    }
  }
  EXPECT_GT(tried, 20u);
  EXPECT_EQ(refused, tried);
  // A changed name (valid JSON, plausible content) is refused by relabel too.
  std::string renamed = text;
  const size_t at = renamed.find("\"new-1\"");
  ASSERT_NE(at, std::string::npos);
  renamed[at + 5] = '7';
  test::write_text(side, renamed);
  try {
    relabel_identity(side, "new-1", "Alice");
    FAIL() << "relabel accepted a damaged sidecar";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
  }
  // Version 1 files (no checksum) are still read.
  json v1 = j;
  v1.erase("checksum");
  v1["version"] = 1;
  test::write_text(side, v1.dump());
  UnknownTracker t(params2d(), side);
  EXPECT_EQ(t.size(), 3u);
  ASSERT_EQ(t.identities().size(), 1u);
}

TEST(OpenSet, ASecondTrackerOnOneSidecarIsRefusedNamingTheProcess) {
  TempDir d;
  const fs::path side = UnknownTracker::sidecar_for(d / "m.model");
  UnknownTracker first(params2d(), side);
  add(first, 0, 0, "a");
  try {
    UnknownTracker second(params2d(), side);
    FAIL() << "two trackers on one sidecar";
  } catch (const LockedError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(side.string()), std::string::npos) << what;
    EXPECT_NE(what.find("process " + std::to_string(::getpid())), std::string::npos) << what;
  }
  first.save();  // the holder still writes
  EXPECT_EQ(json::parse(read_text(side))["unknowns"].size(), 1u);
}

}  // namespace
}  // namespace lumaflow
