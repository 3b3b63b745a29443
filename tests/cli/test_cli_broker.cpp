// lumaflow publish / worker / collect through the real binaries and a real redis-server:
// exactly-once answers with a worker kill -9'ed and one restarted, Redis restarted (SHUTDOWN and
// kill -9), a corrupt frame, an oversized frame, a worker with another model.
// Frames are small synthetic faces (48 px, a 16×16 model); under the sanitizer build
// (LUMAFLOW_SANITIZED) the runs use fewer frames so each test stays well under 30 s there.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "cli_util.hpp"
#include "nodes/broker/streams.hpp"
#include "redis_server.hpp"
#include "watch_fixtures.hpp"

namespace lumaflow {
namespace {
using namespace lumaflow::watch_test;
using test::RedisServer;

#ifdef LUMAFLOW_SANITIZED
constexpr int kFrames = 60;
#else
constexpr int kFrames = 300;
#endif

// A lumaflow process with stdout and stderr in files.
class Proc {
 public:
  Proc(const std::vector<std::string>& args, const fs::path& out, const fs::path& err) : err_(err) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(o, 1);
      ::dup2(e, 2);
      test::exec_cli(args);
    }
  }
  ~Proc() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  void kill9() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // SIGTERM, then the exit code (-1: killed by a signal or still running after 60 s).
  int stop() {
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 6000; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
  std::string err() const { return read_text(err_); }

 private:
  pid_t pid_ = -1;
  fs::path err_;
};

std::vector<std::string> lines_of(const fs::path& p) {
  std::vector<std::string> out;
  std::ifstream in(p);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// Polls until `pred` holds; false after `seconds`.
template <class Pred>
bool wait_for(Pred pred, int seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

class BrokerCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::redis_server_binary().empty()) {
      if (test::in_ci()) FAIL() << "redis-server is not installed (tools/setup.sh installs it)";
      GTEST_SKIP() << "redis-server is not installed (apt-get install redis-server); skipped outside CI";
    }
    model_ = saved_model(dir_);
    fs::create_directories(dir_ / "frames");
  }
  // n face frames frames/f<i>.png (4 people, varied).
  void make_frames(int n, int from = 0) {
    for (int i = from; i < from + n; ++i) write_file(dir_ / "frames" / numbered("f", i, ".png"), face_png(i % 4, i));
  }
  // Started and past its set-up (it printed its first line: model loaded, connected).
  static std::unique_ptr<Proc> ready(std::unique_ptr<Proc> p, const char* word) {
    EXPECT_TRUE(wait_for([&] { return p->err().find(word) != std::string::npos; }, 60)) << p->err();
    return p;
  }
  std::unique_ptr<Proc> worker(const RedisServer& s, const std::string& name) {
    return ready(
        std::make_unique<Proc>(std::vector<std::string>{"worker", model_.string(), "--redis", s.url(), "--consumer",
                                                        name, "--threads", "1", "--batch", "4", "--claim-idle", "1000"},
                               dir_ / ("worker-" + name + ".out"),
                               dir_ / numbered(("worker-" + name + "-").c_str(), ++started_, ".err")),
        "reading");
  }
  std::unique_ptr<Proc> collect(const RedisServer& s) {
    return ready(
        std::make_unique<Proc>(std::vector<std::string>{"collect", model_.string(), "--redis", s.url(), "--store",
                                                        (dir_ / "faces.store").string(), "--out", answers().string()},
                               dir_ / "collect.out", dir_ / numbered("collect-", ++started_, ".err")),
        "collecting");
  }
  test::CliResult publish(const RedisServer& s, const std::string& extra = "") {
    return test::run_cli("publish " + test::shell_quote((dir_ / "frames").string()) + " --redis " + s.url() + " " +
                         extra);
  }
  fs::path answers() const { return dir_ / "answers.jsonl"; }
  long long pending(const RedisServer& s) {
    auto c = s.connect();
    return c.command({"XPENDING", "frames", "classify"}).elements.at(0).as_integer();
  }
  // Every frame's answer exactly once in the answer stream and in the store; nothing pending.
  void expect_exactly_once(const RedisServer& s, int frames) {
    std::map<std::string, int> by_name;
    for (const auto& l : lines_of(answers())) {
      const json j = json::parse(l);
      const std::string path = j.at("path").get<std::string>();
      ++by_name[path.substr(path.find('/') + 1)];
    }
    EXPECT_EQ(by_name.size(), static_cast<size_t>(frames));
    for (const auto& [name, n] : by_name) EXPECT_EQ(n, 1) << name << " answered " << n << " times";
    const EmbeddingStore store = load_store(dir_ / "faces.store");
    std::set<std::pair<std::string, int>> keys;
    std::set<std::string> names;
    for (size_t i = 0; i < store.size(); ++i) {
      const RecordInfo& r = store.record(i);
      EXPECT_TRUE(keys.emplace(r.path.substr(0, r.path.find('/')), r.face_index).second) << r.path << " twice";
      names.insert(r.path.substr(r.path.find('/') + 1));
    }
    EXPECT_EQ(store.size(), static_cast<size_t>(frames));
    EXPECT_EQ(names.size(), static_cast<size_t>(frames));
    EXPECT_EQ(pending(s), 0);
  }

  TempDir dir_;
  fs::path model_;
  long started_ = 0;  // each process its own stderr file
};

TEST_F(BrokerCli, ThreeWorkersOneKilledOneRestartedEveryFrameAnsweredExactlyOnce) {
  RedisServer server;
  make_frames(kFrames);
  auto col = collect(server);
  auto w1 = worker(server, "w1"), w2 = worker(server, "w2"), w3 = worker(server, "w3");
  const auto pub = publish(server);
  ASSERT_EQ(pub.code, 0) << pub.err;
  EXPECT_EQ(std::count(pub.out.begin(), pub.out.end(), '\n'), kFrames);
  // kill -9 one worker mid-stream, restart it (same consumer name: it re-reads its own pending
  // frames first); the others claim what it held after --claim-idle.
  ASSERT_TRUE(wait_for([&] { return lines_of(answers()).size() >= static_cast<size_t>(kFrames / 5); }, 120))
      << col->err();
  w1->kill9();
  w1 = worker(server, "w1");
  ASSERT_TRUE(wait_for([&] { return lines_of(answers()).size() >= static_cast<size_t>(kFrames); }, 120))
      << lines_of(answers()).size() << " answers\n"
      << col->err();
  ASSERT_TRUE(wait_for([&] { return pending(server) == 0; }, 30));
  for (auto* w : {w1.get(), w2.get(), w3.get()}) EXPECT_EQ(w->stop(), 0) << w->err();
  EXPECT_EQ(col->stop(), 0) << col->err();
  expect_exactly_once(server, kFrames);
  for (const auto& l : lines_of(answers())) EXPECT_NE(json::parse(l).value("status", ""), "error") << l;
}

// Redis goes away mid-run — a clean shutdown, then kill -9 (appendfsync always) — while frames
// are published and classified: publish, workers and collect reconnect and nothing is lost.
TEST_F(BrokerCli, RedisRestartedTwiceMidRunLosesNothing) {
  RedisServer server(true);
  const int n = kFrames / 2;
  make_frames(n);
  auto col = collect(server);
  auto w1 = worker(server, "w1"), w2 = worker(server, "w2");
  ASSERT_EQ(publish(server).code, 0);
  ASSERT_TRUE(wait_for([&] { return lines_of(answers()).size() >= static_cast<size_t>(n / 4); }, 120));
  server.stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  server.start();
  ASSERT_TRUE(wait_for([&] { return lines_of(answers()).size() >= static_cast<size_t>(n / 2); }, 120)) << col->err();
  server.kill9();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  server.start();
  // More frames after the crash, published through the restarted server.
  fs::remove_all(dir_ / "frames");
  fs::create_directories(dir_ / "frames");
  make_frames(n, n);
  ASSERT_EQ(publish(server).code, 0);
  ASSERT_TRUE(wait_for([&] { return lines_of(answers()).size() >= static_cast<size_t>(2 * n); }, 120))
      << lines_of(answers()).size() << " answers\n"
      << col->err() << w1->err();
  ASSERT_TRUE(wait_for([&] { return pending(server) == 0; }, 30));
  for (auto* w : {w1.get(), w2.get()}) EXPECT_EQ(w->stop(), 0) << w->err();
  EXPECT_EQ(col->stop(), 0) << col->err();
  EXPECT_NE(col->err().find("reconnecting"), std::string::npos) << col->err();
  expect_exactly_once(server, 2 * n);
}

TEST_F(BrokerCli, CollectRestartContinuesWhereItStopped) {
  RedisServer server;
  make_frames(20);
  auto w = worker(server, "w1");
  {
    auto col = collect(server);
    ASSERT_EQ(publish(server).code, 0);
    ASSERT_TRUE(wait_for([&] { return lines_of(answers()).size() >= 20; }, 60)) << col->err();
    EXPECT_EQ(col->stop(), 0);
  }
  EXPECT_TRUE(fs::exists(dir_ / "faces.store.broker"));
  fs::remove_all(dir_ / "frames");
  fs::create_directories(dir_ / "frames");
  make_frames(10, 20);
  ASSERT_EQ(publish(server).code, 0);  // published while no collector runs
  auto col = collect(server);
  ASSERT_TRUE(wait_for([&] { return lines_of(answers()).size() >= 30; }, 60)) << col->err();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // no late duplicates
  EXPECT_EQ(col->stop(), 0);
  EXPECT_EQ(w->stop(), 0);
  expect_exactly_once(server, 30);
}

TEST_F(BrokerCli, ACorruptFrameGetsAnErrorLineAndNothingStaysPending) {
  RedisServer server;
  make_frames(3);
  write_file(dir_ / "frames" / "broken.png", {0x89, 'P', 'N', 'G', 1, 2, 3, 4, 5, 6, 7, 8});
  auto col = collect(server);
  auto w = worker(server, "w1");
  ASSERT_EQ(publish(server).code, 0);
  ASSERT_TRUE(wait_for([&] { return lines_of(answers()).size() >= 4; }, 60)) << col->err();
  ASSERT_TRUE(wait_for([&] { return pending(server) == 0; }, 30));
  int errors = 0;
  for (const auto& l : lines_of(answers())) {
    const json j = json::parse(l);
    if (j.value("status", "") == "error") {
      ++errors;
      EXPECT_NE(j.at("path").get<std::string>().find("broken.png"), std::string::npos) << l;
    }
  }
  EXPECT_EQ(errors, 1);
  EXPECT_EQ(w->stop(), 0);
  EXPECT_EQ(col->stop(), 0);
}

TEST_F(BrokerCli, AnOversizedFrameIsRefusedAtPublishWithOneLine) {
  RedisServer server;
  make_frames(2);
  std::vector<uint8_t> big = face_png(0, 99);
  big.resize(big.size() + 20000, 0);
  write_file(dir_ / "frames" / "huge.png", big);
  const auto r = publish(server, "--max-bytes 10000");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;  // the two others went
  std::istringstream err(r.err);
  int error_lines = 0;
  for (std::string l; std::getline(err, l);)
    if (l.find("error") != std::string::npos) {
      ++error_lines;
      EXPECT_NE(l.find("huge.png"), std::string::npos) << l;
      EXPECT_NE(l.find("over the limit of 10000"), std::string::npos) << l;
    }
  EXPECT_EQ(error_lines, 1) << r.err;
  // With a shared folder it goes as a path, and a worker reads it there.
  const auto s = publish(server, "--max-bytes 10000 --shared-dir " + test::shell_quote(dir_.path().string()));
  EXPECT_EQ(s.code, 0) << s.err;
  auto col = collect(server);
  auto w = worker(server, "w1");
  ASSERT_TRUE(wait_for([&] { return lines_of(answers()).size() >= 5; }, 60)) << col->err();
  for (const auto& l : lines_of(answers())) EXPECT_NE(json::parse(l).value("status", ""), "error") << l;
  EXPECT_EQ(w->stop(), 0);
  EXPECT_EQ(col->stop(), 0);
}

TEST_F(BrokerCli, AWorkerWithAnotherModelAndAPasswordInTheUrlAreRefused) {
  RedisServer server;
  auto w = worker(server, "w1");
  ASSERT_TRUE(wait_for([&] { return w->err().find("reading") != std::string::npos; }, 60)) << w->err();
  // Another model: the same people, fitted with another seed.
  FittedModel other = small_model();
  other.labels = {"x", "y", "z", "q"};
  save_model(dir_ / "other.model", other);
  const auto r =
      test::run_cli("worker " + test::shell_quote((dir_ / "other.model").string()) + " --redis " + server.url());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("differs from the one the group's workers use"), std::string::npos) << r.err;
  const auto p = test::run_cli("publish " + test::shell_quote((dir_ / "frames").string()) +
                               " --redis redis://:secret@127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(p.code, 1);
  EXPECT_NE(p.err.find("LUMAFLOW_REDIS_PASSWORD"), std::string::npos) << p.err;
  EXPECT_EQ(p.err.find("secret"), std::string::npos) << p.err;
  EXPECT_EQ(w->stop(), 0);
}

}  // namespace
}  // namespace lumaflow
