// Connection: one hiredis connection to a Redis server, typed replies, reconnect with backoff.
//
// connect: TCP with a timeout, then AUTH (when the URL has a password) and SELECT (db > 0).
// command(args): one command, its reply as a RedisValue tree (a Redis error reply is a
// RedisValue of type error, not an exception, so callers can test for e.g. BUSYGROUP).
// pipeline(cmds): several commands in one round trip (MULTI ... EXEC, batches of XADD).
// When the connection fails (refused, reset, timed out, the server restarting) command() and
// pipeline() reconnect and send again: delay = min(max_delay, initial_delay · 2^attempt), times a
// jitter in [0.5, 1) drawn from an explicit seed, forever unless `stop` says so (then
// BrokerStopped) or `give_up_after` passes (then BrokerError). Sending again means a command may
// run twice (its first reply was lost); every caller of this class is written for that (explicit
// entry ids, idempotent results, a MULTI/EXEC of XADD + XACK). generation() counts connections,
// so a caller can redo per-connection work (e.g. re-read its pending entries).
// Errors: BrokerError naming the server (redis://host:port/db) and hiredis's reason. Not
// thread-safe: one Connection per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "nodes/broker/url.hpp"

struct redisContext;

namespace lumaflow {

struct BrokerError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// `stop` returned true while waiting for the server.
struct BrokerStopped : BrokerError {
  using BrokerError::BrokerError;
};

struct RedisValue {
  enum class Type { nil, integer, string, status, error, array };
  Type type = Type::nil;
  long long integer = 0;
  std::string str;  // string, status, error
  std::vector<RedisValue> elements;

  bool is_nil() const { return type == Type::nil; }
  bool is_error() const { return type == Type::error; }
  // The string of a string/status reply; throws BrokerError otherwise.
  const std::string& text() const;
  // The integer of an integer reply (or a string holding one); throws BrokerError otherwise.
  long long as_integer() const;
  // `field` of a flat [name, value, ...] array (XINFO, entry fields); null when absent.
  const RedisValue* field(const std::string& name) const;
};

using RedisArgs = std::vector<std::string>;

struct ConnectOptions {
  RedisUrl url;
  std::chrono::milliseconds timeout{5000};  // connect and each reply (must exceed any BLOCK)
  std::chrono::milliseconds initial_delay{50};
  std::chrono::milliseconds max_delay{2000};
  std::chrono::milliseconds give_up_after{0};    // 0: never
  uint64_t seed = 1;                             // of the jitter
  std::function<bool()> stop;                    // polled while waiting; true: BrokerStopped
  std::function<void(const std::string&)> warn;  // "lost the connection ..., retrying"
};

class Connection {
 public:
  // Connects (retrying as above).
  explicit Connection(ConnectOptions opt);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  RedisValue command(const RedisArgs& args);
  std::vector<RedisValue> pipeline(const std::vector<RedisArgs>& cmds);
  uint64_t generation() const { return generation_; }
  const RedisUrl& url() const { return opt_.url; }

 private:
  void connect_with_retry();
  bool try_connect(std::string& why);
  std::vector<RedisValue> send(const std::vector<RedisArgs>& cmds, std::string& why);
  void drop();

  ConnectOptions opt_;
  redisContext* ctx_ = nullptr;
  uint64_t generation_ = 0;
  uint64_t rng_state_;
};

// Raises BrokerError "<server>: <what>: <error text>" when `v` is an error reply; returns v.
const RedisValue& expect_ok(const RedisValue& v, const Connection& c, const std::string& what);

}  // namespace lumaflow
