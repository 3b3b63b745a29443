// A throw-away redis-server for tests: loopback, a free port, a temporary folder, no snapshots.
//
// RedisServer::start() execs `redis-server` (searched on PATH) with --port <free> --bind
// 127.0.0.1 --dir <tmp> --save '' and --appendonly no, or (durable = true) --appendonly yes
// --appendfsync always; it waits until the server answers PING. stop() sends SHUTDOWN (a clean
// stop: the append-only file is flushed), kill9() kills it; restart() starts it again on the same
// port and folder. The destructor kills it and removes the folder.
// LUMAFLOW_REQUIRE_REDIS() (in a GoogleTest TEST body; bench/bench_broker uses the server alone): skips when redis-server is not installed — but
// fails in CI (CI=true), where tools/setup.sh installs it.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "nodes/broker/connection.hpp"

namespace lumaflow::test {

inline bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

inline std::string redis_server_binary() {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    const size_t end = p.find(':', start);
    const std::string dir = p.substr(start, end == std::string::npos ? std::string::npos : end - start);
    const std::filesystem::path cand = std::filesystem::path(dir.empty() ? "." : dir) / "redis-server";
    if (::access(cand.c_str(), X_OK) == 0) return cand.string();
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return {};
}

#define LUMAFLOW_REQUIRE_REDIS()                                                                             \
  do {                                                                                                       \
    if (::lumaflow::test::redis_server_binary().empty()) {                                                   \
      if (::lumaflow::test::in_ci()) FAIL() << "redis-server is not installed (tools/setup.sh installs it)"; \
      GTEST_SKIP() << "redis-server is not installed (apt-get install redis-server); skipped outside CI";    \
    }                                                                                                        \
  } while (0)

inline int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("no free loopback port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

class RedisServer {
 public:
  explicit RedisServer(bool durable = false) : durable_(durable), port_(free_loopback_port()) {
    dir_ = std::filesystem::temp_directory_path() /
           ("lumaflow-redis-" + std::to_string(::getpid()) + "-" + std::to_string(port_));
    std::filesystem::create_directories(dir_);
    start();
  }
  ~RedisServer() {
    kill9();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path& dir() const { return dir_; }

  void start() {
    std::vector<std::string> args{redis_server_binary(),
                                  "--port",
                                  std::to_string(port_),
                                  "--bind",
                                  "127.0.0.1",
                                  "--dir",
                                  dir_.string(),
                                  "--save",
                                  "",
                                  "--daemonize",
                                  "no",
                                  "--logfile",
                                  (dir_ / "redis.log").string()};
    if (durable_)
      args.insert(args.end(), {"--appendonly", "yes", "--appendfsync", "always"});
    else
      args.insert(args.end(), {"--appendonly", "no"});
    std::vector<char*> argv;
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    // Up when it answers (a few ms; generous for a loaded machine).
    ConnectOptions o;
    o.url.port = port_;
    o.initial_delay = std::chrono::milliseconds(10);
    o.max_delay = std::chrono::milliseconds(100);
    o.give_up_after = std::chrono::milliseconds(20000);
    Connection c(o);
    c.command({"PING"});
  }
  // A clean SHUTDOWN (the server flushes its append-only file), waited for.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);  // what SHUTDOWN does, without a client that must see the socket close
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  Connection connect() const {
    ConnectOptions o;
    o.url.port = port_;
    o.give_up_after = std::chrono::milliseconds(20000);
    return Connection(o);
  }

 private:
  bool durable_;
  int port_;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
};

}  // namespace lumaflow::test
