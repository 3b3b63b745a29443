// The stream logic against a real redis-server (started here on a free loopback port): backpressure,
// trimming that never drops a pending entry, claiming a dead consumer's frames, giving up on a
// frame that keeps killing workers, corrupt entries, the model key, reconnecting after a restart.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "nodes/broker/publisher.hpp"
#include "nodes/broker/streams.hpp"
#include "nodes/broker/worker.hpp"
#include "nodes/core/checksum.hpp"
#include "redis_server.hpp"

namespace lumaflow {
namespace {

using test::RedisServer;

FrameEntry frame(int i) {
  FrameEntry f;
  f.name = "f" + std::to_string(i) + ".png";
  f.bytes.assign(64, static_cast<uint8_t>(i));
  f.hash = xxh3_64(f.bytes.data(), f.bytes.size());
  return f;
}

// A stand-in for the frame chain: one "noface" result per frame, counted.
ProcessFrames counting(std::atomic<int>& n) {
  return [&n](std::vector<FrameEntry>& fs, std::vector<std::vector<ResultEntry>>& out) {
    for (size_t i = 0; i < fs.size(); ++i) {
      ResultEntry r = error_result(fs[i], "", "t");
      r.status = ResultStatus::noface;
      out[i] = {r};
      ++n;
    }
  };
}

long long xlen(Connection& c, const std::string& s) { return c.command({"XLEN", s}).as_integer(); }
long long pending(Connection& c) { return c.command({"XPENDING", "frames", "classify"}).elements.at(0).as_integer(); }

// Runs a worker until `done` holds (checked between rounds).
WorkerSummary work_until(Connection& c, WorkerOptions o, const ProcessFrames& p, std::function<bool()> done) {
  o.block = std::chrono::milliseconds(50);
  o.stop = std::move(done);
  return run_worker(c, o, p);
}

TEST(BrokerRedis, PublishWaitsAtTheLagLimitAndGoesOnWhenWorkersRead) {
  LUMAFLOW_REQUIRE_REDIS();
  RedisServer server;
  auto c = server.connect();
  PublishOptions po;
  po.max_lag = 5;
  po.poll = std::chrono::milliseconds(20);
  std::atomic<int> waits{0};
  po.waiting = [&](long long n) {
    EXPECT_GE(n, 5);
    ++waits;
  };
  Publisher pub(c, po);
  for (int i = 0; i < 5; ++i) pub.publish(frame(i));
  std::atomic<bool> published{false};
  std::thread t([&] {
    auto c2 = server.connect();
    Publisher p2(c2, po);
    p2.publish(frame(5));  // must wait: 5 unread
    published = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(published.load()) << "publish did not wait at the lag limit";
  auto w = server.connect();
  std::atomic<int> n{0};
  WorkerOptions wo;
  work_until(w, wo, counting(n), [&] { return n >= 6; });
  t.join();
  EXPECT_TRUE(published.load());
  EXPECT_GE(waits.load(), 1);
  EXPECT_EQ(n.load(), 6);
  EXPECT_EQ(pending(c), 0);
}

TEST(BrokerRedis, TrimKeepsEveryPendingAndUnreadEntry) {
  LUMAFLOW_REQUIRE_REDIS();
  RedisServer server;
  auto c = server.connect();
  Publisher pub(c, {});
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(pub.publish(frame(i)));
  // A consumer reads 6 and acknowledges only the first 2 and the 5th.
  c.command({"XREADGROUP", "GROUP", "classify", "a", "COUNT", "6", "STREAMS", "frames", ">"});
  c.command({"XACK", "frames", "classify", ids[0], ids[1], ids[4]});
  EXPECT_EQ(trim_acked(c, "frames"), 2);  // only the two below the oldest pending one
  EXPECT_EQ(xlen(c, "frames"), 8);
  EXPECT_EQ(pending(c), 3);
  const auto left = read_entries(c.command({"XRANGE", "frames", "-", "+"}));
  EXPECT_EQ(left.front().id, ids[2]);
  c.command({"XACK", "frames", "classify", ids[2], ids[3], ids[5]});
  trim_acked(c, "frames");
  // Acknowledged up to ids[5]; ids[6..9] were never read and stay.
  EXPECT_EQ(read_entries(c.command({"XRANGE", "frames", "-", "+"})).size(), 5u);  // ids[5] (the last read) + 4
}

TEST(BrokerRedis, ADeadConsumersFramesAreClaimedAndAnswered) {
  LUMAFLOW_REQUIRE_REDIS();
  RedisServer server;
  auto c = server.connect();
  Publisher pub(c, {});
  for (int i = 0; i < 7; ++i) pub.publish(frame(i));
  // "dead" read 4 frames and never acknowledged them.
  c.command({"XREADGROUP", "GROUP", "classify", "dead", "COUNT", "4", "STREAMS", "frames", ">"});
  EXPECT_EQ(pending(c), 4);
  std::atomic<int> n{0};
  WorkerOptions wo;
  wo.consumer = "alive";
  wo.claim_idle = std::chrono::milliseconds(100);
  const auto s = work_until(c, wo, counting(n), [&] { return n >= 7; });
  EXPECT_EQ(n.load(), 7);
  EXPECT_EQ(s.claimed, 4u);
  EXPECT_EQ(pending(c), 0);
  EXPECT_EQ(xlen(c, "results"), 7);
}

TEST(BrokerRedis, AFrameThatKeepsKillingWorkersBecomesAnErrorResult) {
  LUMAFLOW_REQUIRE_REDIS();
  RedisServer server;
  auto c = server.connect();
  Publisher pub(c, {});
  pub.publish(frame(0));
  c.command({"XREADGROUP", "GROUP", "classify", "w1", "COUNT", "1", "STREAMS", "frames", ">"});
  // Two more workers took it over and died with it: 3 deliveries so far.
  const auto ids = read_entries(c.command({"XRANGE", "frames", "-", "+"}));
  for (const char* w : {"w2", "w3"}) c.command({"XCLAIM", "frames", "classify", w, "0", ids.at(0).id});
  std::atomic<int> n{0};
  WorkerOptions wo;
  wo.consumer = "w4";
  wo.claim_idle = std::chrono::milliseconds(1);
  wo.max_deliveries = 3;
  const auto s = work_until(c, wo, counting(n), [&] { return pending(c) == 0; });
  EXPECT_EQ(n.load(), 0) << "the frame was processed again";
  EXPECT_EQ(s.errors, 1u);
  const auto res = read_entries(c.command({"XRANGE", "results", "-", "+"}));
  ASSERT_EQ(res.size(), 1u);
  const ResultEntry r = decode_result(res[0].id, res[0].fields);
  EXPECT_EQ(r.status, ResultStatus::error);
  EXPECT_NE(r.error.find("delivered 4 times"), std::string::npos) << r.error;
}

TEST(BrokerRedis, CorruptEntriesGetAnErrorResultAndAreAcknowledged) {
  LUMAFLOW_REQUIRE_REDIS();
  RedisServer server;
  auto c = server.connect();
  ensure_group(c, "frames", "classify");
  c.command({"XADD", "frames", "*", "name", "garbage.png"});  // no bytes, no hash
  FrameEntry f = frame(1);
  RedisArgs a{"XADD", "frames", "*"};
  append_fields(a, encode_frame(f));
  for (size_t i = 3; i + 1 < a.size(); i += 2)
    if (a[i] == "bytes") a[i + 1].back() ^= 1;  // one flipped bit in the bytes
  c.command(a);
  std::atomic<int> n{0};
  const auto s = work_until(c, {}, counting(n), [&] { return xlen(c, "results") >= 2; });
  EXPECT_EQ(n.load(), 0);
  EXPECT_EQ(s.errors, 2u);
  EXPECT_EQ(pending(c), 0);
  const auto res = read_entries(c.command({"XRANGE", "results", "-", "+"}));
  ASSERT_EQ(res.size(), 2u);
  const std::string e0 = decode_result(res[0].id, res[0].fields).error;
  const std::string e1 = decode_result(res[1].id, res[1].fields).error;
  EXPECT_NE(e0.find("neither 'bytes' nor 'path'"), std::string::npos) << e0;
  EXPECT_EQ(decode_result(res[0].id, res[0].fields).name, "garbage.png");
  EXPECT_NE(e1.find("do not match their hash"), std::string::npos) << e1;
}

TEST(BrokerRedis, AWorkerWithAnotherModelIsRefused) {
  LUMAFLOW_REQUIRE_REDIS();
  RedisServer server;
  auto c = server.connect();
  claim_model(c, model_key("frames", "classify"), "00000000000000aa", "first");
  claim_model(c, model_key("frames", "classify"), "00000000000000aa", "second");  // same model: fine
  try {
    claim_model(c, model_key("frames", "classify"), "00000000000000bb", "third");
    FAIL() << "a different model was accepted";
  } catch (const BrokerError& e) {
    EXPECT_NE(std::string(e.what()).find("00000000000000aa"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("first"), std::string::npos) << e.what();
  }
}

TEST(BrokerRedis, CommandsReconnectAcrossARestartAndKeepTheData) {
  LUMAFLOW_REQUIRE_REDIS();
  RedisServer server(true);
  auto c = server.connect();
  Publisher pub(c, {});
  pub.publish(frame(0));
  const uint64_t gen = c.generation();
  server.stop();
  std::thread restart([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    server.start();
  });
  pub.publish(frame(1));  // waits for the server (backoff), then goes through
  restart.join();
  EXPECT_GT(c.generation(), gen);
  EXPECT_EQ(xlen(c, "frames"), 2);
  server.kill9();
  server.start();
  EXPECT_EQ(xlen(c, "frames"), 2);  // appendfsync always: nothing acknowledged is lost
}

TEST(BrokerRedis, PublishedIdsAreIdempotentAcrossPublishers) {
  LUMAFLOW_REQUIRE_REDIS();
  RedisServer server;
  auto c1 = server.connect();
  auto c2 = server.connect();
  Publisher p1(c1, {}), p2(c2, {});
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    ids.insert(p1.publish(frame(i)));
    ids.insert(p2.publish(frame(100 + i)));
  }
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_EQ(xlen(c1, "frames"), 100);
}

}  // namespace
}  // namespace lumaflow
