// Redis URL: redis://[:password@]host[:port][/db] (hiredis 0.14 has no parser of its own).
//
// Host is a name, an IPv4 address or a bracketed IPv6 address ([::1]); port 1–65535 (default
// 6379); db 0–15 digits only (default 0). A password in the URL is parsed (so the parser is
// complete and tested) but the CLI refuses it: a password on the command line is visible to
// every user of the machine (ps, /proc). It comes from the environment instead
// (redis_url_from_cli, kRedisPasswordEnv). Errors: std::invalid_argument naming the URL (with any
// password masked) and what is wrong.
#pragma once

#include <string>

namespace lumaflow {

inline constexpr const char* kRedisPasswordEnv = "LUMAFLOW_REDIS_PASSWORD";

struct RedisUrl {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string password;  // empty: no AUTH
  // redis://host:port/db (never the password).
  std::string display() const;
};

RedisUrl parse_redis_url(const std::string& text);

// The URL as given on a command line: refused when it holds a password; the password is read
// from `password_env` (the value of kRedisPasswordEnv, or null when unset).
RedisUrl redis_url_from_cli(const std::string& text, const char* password_env);

}  // namespace lumaflow
