#include "nodes/broker/url.hpp"

#include <stdexcept>

namespace lumaflow {
namespace {

std::string masked(const std::string& text) {
  const auto scheme = text.find("://");
  const auto at = text.rfind('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return text;
  return text.substr(0, scheme + 3) + "***" + text.substr(at);
}

[[noreturn]] void bad(const std::string& text, const std::string& why) {
  throw std::invalid_argument("bad Redis URL '" + masked(text) + "': " + why +
                              " (expected redis://[:password@]host[:port][/db])");
}

// Digits only, within [lo, hi].
int number(const std::string& text, const std::string& s, int lo, int hi, const char* what) {
  if (s.empty() || s.size() > 9) bad(text, std::string(what) + " '" + s + "' is not a number");
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') bad(text, std::string(what) + " '" + s + "' is not a number");
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi)
    bad(text, std::string(what) + " " + s + " is out of range " + std::to_string(lo) + "-" + std::to_string(hi));
  return v;
}

}  // namespace

std::string RedisUrl::display() const {
  const bool v6 = host.find(':') != std::string::npos;
  return "redis://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" + std::to_string(db);
}

RedisUrl parse_redis_url(const std::string& text) {
  const std::string scheme = "redis://";
  if (text.compare(0, scheme.size(), scheme) != 0) bad(text, "it must start with redis://");
  std::string rest = text.substr(scheme.size());
  RedisUrl u;
  if (const auto at = rest.rfind('@'); at != std::string::npos) {
    const std::string userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = userinfo.find(':');
    if (colon == std::string::npos) bad(text, "a user name without ':password' is not supported (Redis 5 AUTH)");
    if (colon != 0) bad(text, "ACL user names are not supported, only ':password@'");
    u.password = userinfo.substr(1);
    if (u.password.empty()) bad(text, "empty password");
  }
  std::string hostport = rest;
  if (const auto slash = rest.find('/'); slash != std::string::npos) {
    hostport = rest.substr(0, slash);
    const std::string db = rest.substr(slash + 1);
    if (!db.empty()) u.db = number(text, db, 0, 15, "database");
  }
  std::string port;
  if (!hostport.empty() && hostport[0] == '[') {
    const auto close = hostport.find(']');
    if (close == std::string::npos) bad(text, "unclosed '[' in the host");
    u.host = hostport.substr(1, close - 1);
    const std::string after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') bad(text, "unexpected '" + after + "' after the host");
      port = after.substr(1);
      if (port.empty()) bad(text, "empty port");
    }
  } else {
    const auto colon = hostport.find(':');
    u.host = hostport.substr(0, colon);
    if (colon != std::string::npos) {
      port = hostport.substr(colon + 1);
      if (port.empty()) bad(text, "empty port");
    }
  }
  if (u.host.empty()) bad(text, "no host");
  for (char c : u.host)
    if (c == ' ' || c == '/' || c == '?' || c == '#' || c == '@' || static_cast<unsigned char>(c) < 0x21)
      bad(text, "bad character in the host");
  if (!port.empty()) u.port = number(text, port, 1, 65535, "port");
  return u;
}

RedisUrl redis_url_from_cli(const std::string& text, const char* password_env) {
  RedisUrl u = parse_redis_url(text);
  if (!u.password.empty())
    throw std::invalid_argument("a password in the Redis URL would be visible in the process list; set " +
                                std::string(kRedisPasswordEnv) + " instead");
  if (password_env && *password_env) u.password = password_env;
  return u;
}

}  // namespace lumaflow
