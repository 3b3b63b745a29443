#include "nodes/broker/connection.hpp"

#include <hiredis/hiredis.h>

#include <thread>

#include "nodes/core/random.hpp"

namespace lumaflow {
namespace {

RedisValue convert(const redisReply* r) {
  RedisValue v;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      v.type = RedisValue::Type::integer;
      v.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      v.type = r->type == REDIS_REPLY_STRING   ? RedisValue::Type::string
               : r->type == REDIS_REPLY_STATUS ? RedisValue::Type::status
                                               : RedisValue::Type::error;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      v.type = RedisValue::Type::array;
      v.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) v.elements.push_back(convert(r->element[i]));
      break;
    default: break;  // nil
  }
  return v;
}

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

}  // namespace

const std::string& RedisValue::text() const {
  if (type != Type::string && type != Type::status)
    throw BrokerError("unexpected Redis reply (not a string)" + (is_error() ? ": " + str : std::string()));
  return str;
}

long long RedisValue::as_integer() const {
  if (type == Type::integer) return integer;
  if (type == Type::string) {
    try {
      size_t used = 0;
      const long long v = std::stoll(str, &used);
      if (used == str.size()) return v;
    } catch (const std::exception&) {
    }
  }
  throw BrokerError("unexpected Redis reply (not an integer)" + (is_error() ? ": " + str : std::string()));
}

const RedisValue* RedisValue::field(const std::string& name) const {
  for (size_t i = 0; i + 1 < elements.size(); i += 2)
    if (elements[i].type == Type::string || elements[i].type == Type::status)
      if (elements[i].str == name) return &elements[i + 1];
  return nullptr;
}

Connection::Connection(ConnectOptions opt) : opt_(std::move(opt)), rng_state_(opt_.seed) { connect_with_retry(); }

Connection::~Connection() { drop(); }

void Connection::drop() {
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
}

bool Connection::try_connect(std::string& why) {
  drop();
  const timeval tv = to_timeval(opt_.timeout);
  ctx_ = redisConnectWithTimeout(opt_.url.host.c_str(), opt_.url.port, tv);
  if (!ctx_ || ctx_->err) {
    why = ctx_ ? ctx_->errstr : "out of memory";
    drop();
    return false;
  }
  redisSetTimeout(ctx_, tv);
  std::vector<RedisArgs> hello;
  if (!opt_.url.password.empty()) hello.push_back({"AUTH", opt_.url.password});
  if (opt_.url.db != 0) hello.push_back({"SELECT", std::to_string(opt_.url.db)});
  if (hello.empty()) hello.push_back({"PING"});
  const auto replies = send(hello, why);
  if (replies.size() != hello.size()) return false;
  for (const auto& r : replies)
    if (r.is_error() && (r.str.rfind("LOADING", 0) == 0 || r.str.rfind("BUSY ", 0) == 0)) {
      why = r.str;  // the server is starting: wait for it like for a refused connection
      drop();
      return false;
    }
  for (const auto& r : replies)
    if (r.is_error()) {
      // A refused password or database is not a network fault: retrying cannot help.
      drop();
      throw BrokerError(opt_.url.display() + ": " + (hello[0][0] == "AUTH" ? "AUTH" : hello.back()[0]) +
                        " refused: " + r.str);
    }
  ++generation_;
  return true;
}

void Connection::connect_with_retry() {
  const auto start = std::chrono::steady_clock::now();
  SplitMix64 rng(rng_state_);
  for (int attempt = 0;; ++attempt) {
    std::string why;
    if (try_connect(why)) {
      rng_state_ = rng.next();
      return;
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    if (opt_.give_up_after.count() > 0 && elapsed >= opt_.give_up_after)
      throw BrokerError(opt_.url.display() + ": cannot connect: " + why);
    auto delay = opt_.initial_delay * (1LL << std::min(attempt, 20));
    if (delay > opt_.max_delay) delay = opt_.max_delay;
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(delay * (0.5 + 0.5 * rng.uniform()));
    if (opt_.warn && (attempt == 0 || attempt % 10 == 9))
      opt_.warn(opt_.url.display() + ": " + why + "; retrying (attempt " + std::to_string(attempt + 1) + ")");
    const auto until = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < until) {
      if (opt_.stop && opt_.stop()) throw BrokerStopped(opt_.url.display() + ": stopped while reconnecting");
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds(20), until - std::chrono::steady_clock::now()));
    }
  }
}

// Sends all commands, then reads all replies. Fewer replies than commands: the connection failed
// (`why` says how) and was dropped.
std::vector<RedisValue> Connection::send(const std::vector<RedisArgs>& cmds, std::string& why) {
  std::vector<RedisValue> out;
  if (!ctx_) {
    why = "not connected";
    return out;
  }
  for (const auto& args : cmds) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()) != REDIS_OK) {
      why = ctx_->errstr;
      drop();
      return {};
    }
  }
  out.reserve(cmds.size());
  for (size_t i = 0; i < cmds.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || !raw) {
      why = ctx_->err ? ctx_->errstr : "no reply";
      drop();
      return {};
    }
    std::unique_ptr<redisReply, void (*)(void*)> r(static_cast<redisReply*>(raw), freeReplyObject);
    out.push_back(convert(r.get()));
  }
  return out;
}

std::vector<RedisValue> Connection::pipeline(const std::vector<RedisArgs>& cmds) {
  for (;;) {
    std::string why;
    auto replies = send(cmds, why);
    if (replies.size() == cmds.size()) {
      // A server going down answers a last error before closing: treat it as a lost connection.
      bool loading = false;
      for (const auto& r : replies)
        if (r.is_error() && (r.str.rfind("LOADING", 0) == 0 || r.str.rfind("BUSY ", 0) == 0)) loading = true;
      if (!loading) return replies;
      why = "server busy or loading";
      drop();
    }
    if (opt_.warn) opt_.warn(opt_.url.display() + ": connection lost (" + why + "); reconnecting");
    connect_with_retry();
  }
}

RedisValue Connection::command(const RedisArgs& args) { return std::move(pipeline({args}).front()); }

const RedisValue& expect_ok(const RedisValue& v, const Connection& c, const std::string& what) {
  if (v.is_error()) throw BrokerError(c.url().display() + ": " + what + ": " + v.str);
  return v;
}

}  // namespace lumaflow
