// LiveState: counters, the ring of recent lines, the latency histogram, proposed identities and
// the Prometheus text it writes.
#include "nodes/serve/live_state.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <thread>

namespace lumaflow {
namespace {

std::string face(const std::string& path, int i, const std::string& status, double ms, const std::string& label = "") {
  std::string l = label.empty() ? "null" : "\"" + label + "\"";
  return "{\"path\":\"" + path + "\",\"face\":" + std::to_string(i) + ",\"box\":[1,2,30,40],\"label\":" + l +
         ",\"candidate\":\"s1\",\"confidence\":0.9,\"status\":\"" + status + "\",\"ms\":" + std::to_string(ms) + "}";
}

TEST(LiveState, CountsFramesFacesUnknownErrorsAndStoreRecords) {
  LiveState s(100, /*counts_store=*/true);
  s.add_line(face("in/a.jpg", 0, "known", 3, "s1"));
  s.add_line(face("in/a.jpg", 1, "unknown", 4, "new-1"));
  s.add_line(R"({"path":"in/b.jpg","status":"error","error":"truncated"})");
  s.add_line(face("in/c.jpg", 0, "unknown", 5));
  s.add_line("not json");
  const LiveStats st = s.stats();
  EXPECT_EQ(st.frames, 3u);
  EXPECT_EQ(st.faces, 3u);
  EXPECT_EQ(st.known, 1u);
  EXPECT_EQ(st.unknown, 2u);
  EXPECT_EQ(st.errors, 1u);
  EXPECT_EQ(st.store_records, 3u);
  EXPECT_EQ(st.bad_lines, 1u);
  EXPECT_NEAR(st.frames_per_s, 0.3, 1e-9);  // 3 frames in the last 10 s
  EXPECT_EQ(s.last_id(), 4u);               // the bad line is no event

  LiveState no_store(100, false);
  no_store.add_line(face("in/a.jpg", 0, "known", 3, "s1"));
  EXPECT_EQ(no_store.stats().store_records, 0u);
}

TEST(LiveState, RingKeepsTheNewestAndAfterReturnsOnlyNewerEvents) {
  LiveState s(3);
  for (int i = 0; i < 5; ++i) s.add_line(face("f" + std::to_string(i) + ".png", 0, "known", 1, "s1"));
  const auto r = s.recent(10);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r.front()->id, 3u);
  EXPECT_EQ(r.back()->id, 5u);
  EXPECT_EQ(r.back()->sse, "id: 5\ndata: " + r.back()->line + "\n\n");
  EXPECT_EQ(s.after(1).size(), 3u);  // 1 and 2 fell off the ring
  ASSERT_EQ(s.after(4).size(), 1u);
  EXPECT_EQ(s.after(4)[0]->id, 5u);
  EXPECT_TRUE(s.after(5).empty());
  EXPECT_EQ(s.after(0, 2).size(), 2u);
}

TEST(LiveState, WaitAfterWakesOnANewLineAndTimesOutOtherwise) {
  LiveState s;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(s.wait_after(0, std::chrono::milliseconds(50)));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(45));
  std::thread feeder([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    s.add_line(face("a.png", 0, "known", 1, "s1"));
  });
  EXPECT_TRUE(s.wait_after(0, std::chrono::seconds(10)));
  feeder.join();
  s.close();
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_FALSE(s.wait_after(1, std::chrono::seconds(10)));  // closed: returns at once
  EXPECT_LT(std::chrono::steady_clock::now() - t1, std::chrono::seconds(1));
}

TEST(LiveState, LatencyHistogramBucketsAndQuantiles) {
  LiveState s;
  s.add_line(face("a.png", 0, "known", 0.5, "s1"));   // <= 1 ms
  s.add_line(face("b.png", 0, "known", 3, "s1"));     // <= 5 ms
  s.add_line(face("c.png", 0, "known", 7000, "s1"));  // +Inf
  const LiveStats st = s.stats();
  EXPECT_EQ(st.buckets[0], 1u);
  EXPECT_EQ(st.buckets[2], 1u);
  EXPECT_EQ(st.buckets.back(), 1u);
  EXPECT_EQ(st.latency_count, 3u);
  EXPECT_NEAR(st.latency_sum_ms, 7003.5, 1e-9);
  EXPECT_DOUBLE_EQ(st.p50_ms, 3);
  EXPECT_DOUBLE_EQ(st.p99_ms, 7000);
}

TEST(LiveState, ProposedIdentitiesKeepTheirLatestFaces) {
  LiveState s;
  for (int i = 0; i < 10; ++i) s.add_line(face("u" + std::to_string(i) + ".png", 0, "unknown", 1, "new-1"));
  s.add_line(face("k.png", 0, "known", 1, "s1"));
  const auto ids = s.identities();
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids.at("new-1").faces, 10u);
  ASSERT_EQ(ids.at("new-1").recent.size(), 8u);
  EXPECT_NE(ids.at("new-1").recent.back().find("u9.png"), std::string::npos);
  EXPECT_NE(s.identities_json().find("\"name\":\"new-1\""), std::string::npos);
}

// Every line of the exposition is a comment (# HELP / # TYPE) or NAME{LABELS} VALUE.
TEST(LiveState, MetricsAreValidPrometheusText) {
  LiveState s(100, true);
  s.add_line(face("a.png", 0, "known", 0.5, "s1"));
  s.add_line(face("b.png", 0, "unknown", 3));
  s.add_line(face("c.png", 0, "known", 7000, "s1"));
  const std::string text = s.metrics_text(2);
  const std::regex sample(R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"\})? [-+0-9.eInf]+$)");
  const std::regex comment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$)");
  std::istringstream in(text);
  std::string line;
  int samples = 0;
  while (std::getline(in, line)) {
    const bool ok = std::regex_match(line, sample) || std::regex_match(line, comment);
    EXPECT_TRUE(ok) << line;
    samples += line[0] != '#';
  }
  EXPECT_EQ(text.back(), '\n');
  EXPECT_GE(samples, 7 + 13 + 2);
  EXPECT_NE(text.find("lumaflow_faces_total 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lumaflow_unknown_faces_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("lumaflow_store_records_total 3\n"), std::string::npos);
  EXPECT_NE(text.find("lumaflow_event_streams 2\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE lumaflow_answer_latency_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("lumaflow_answer_latency_seconds_bucket{le=\"0.001\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("lumaflow_answer_latency_seconds_bucket{le=\"0.005\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lumaflow_answer_latency_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("lumaflow_answer_latency_seconds_count 3\n"), std::string::npos);
}

}  // namespace
}  // namespace lumaflow
