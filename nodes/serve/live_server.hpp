// LiveServer: the read-only HTTP server of `watch --serve` (cpp-httplib), over a LiveState.
//   GET /                 the live page (one self-contained HTML+JS string, live_page.hpp)
//   GET /events           server-sent events: the last `replay` answer lines, then each new one
//                         (a ": keepalive" comment every `keepalive` when nothing arrives)
//   GET /api/answers?max=N  /api/stats  /api/identities   JSON (LiveState)
//   GET /metrics          Prometheus text format 0.0.4
//   GET /file?path=P      a file under the watched or annotate folder (FileGuard); images
//                         browsers cannot show (PGM, TIFF, ...) are sent as PNG
// Anything else (other paths, other methods) is 404/405. At most `max_streams` event streams
// are open at once (503 past that); the pool has `max_streams + 8` threads and each stream's
// provider sleeps on the state's condition variable (at most `keepalive`), so open pages never
// take the threads that /metrics and the JSON endpoints need.
// Access: a loopback host needs no token; any other host needs one (generated when none is
// given): `?token=T` or `Authorization: Bearer T`, else 401.
// Throws std::runtime_error naming the address when it cannot listen.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "nodes/serve/file_guard.hpp"
#include "nodes/serve/live_state.hpp"

namespace httplib {
class Server;
}

namespace lumaflow {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                           // 0: any free port (see LiveServer::port)
  std::vector<std::filesystem::path> roots;  // folders /file may serve from
  size_t max_streams = 32;
  size_t replay = 50;  // lines a new event stream starts with
  std::chrono::milliseconds keepalive{1000};
  std::string token;  // non-loopback host: required; empty = generate
};

// "HOST:PORT", "[V6]:PORT" or ":PORT" (= 127.0.0.1). Throws std::invalid_argument.
std::pair<std::string, int> parse_serve_address(const std::string& text);
bool is_loopback(const std::string& host);
std::string make_access_token();  // 32 hex digits from the OS's random source
// True when `expected` is empty, or the query token or a "Bearer T" header equals it.
bool token_accepted(const std::string& expected, const std::string& query_token, const std::string& authorization);

class LiveServer {
 public:
  LiveServer(LiveState& state, ServeOptions opt);  // listening when it returns
  ~LiveServer();
  LiveServer(const LiveServer&) = delete;
  LiveServer& operator=(const LiveServer&) = delete;

  int port() const { return port_; }
  const std::string& token() const { return opt_.token; }  // empty on loopback without one
  std::string url() const;                                 // http://host:port/ (?token=...)
  size_t open_streams() const { return streams_.load(); }
  void stop();  // idempotent; wakes every stream

 private:
  void routes();

  LiveState& state_;
  ServeOptions opt_;
  FileGuard guard_;
  std::unique_ptr<httplib::Server> svr_;
  std::atomic<size_t> streams_{0};
  std::atomic<bool> stopping_{false};
  int port_ = 0;
  std::thread thread_;
};

}  // namespace lumaflow
