// The Redis URL parser: every part, defaults, and the URLs it must refuse.
#include <gtest/gtest.h>

#include "nodes/broker/url.hpp"

namespace lumaflow {
namespace {

TEST(RedisUrl, HostPortDbAndPassword) {
  const RedisUrl u = parse_redis_url("redis://:s3cr:et@cache.example:6380/3");
  EXPECT_EQ(u.host, "cache.example");
  EXPECT_EQ(u.port, 6380);
  EXPECT_EQ(u.db, 3);
  EXPECT_EQ(u.password, "s3cr:et");
  EXPECT_EQ(u.display(), "redis://cache.example:6380/3");  // never the password
}

TEST(RedisUrl, DefaultsPortAndDb) {
  const RedisUrl u = parse_redis_url("redis://10.0.0.7");
  EXPECT_EQ(u.host, "10.0.0.7");
  EXPECT_EQ(u.port, 6379);
  EXPECT_EQ(u.db, 0);
  EXPECT_TRUE(u.password.empty());
  EXPECT_EQ(parse_redis_url("redis://h:1/").db, 0);
}

TEST(RedisUrl, BracketedIpv6) {
  const RedisUrl u = parse_redis_url("redis://[::1]:7000/15");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 7000);
  EXPECT_EQ(u.db, 15);
  EXPECT_EQ(u.display(), "redis://[::1]:7000/15");
}

TEST(RedisUrl, BadUrlsAreRefusedWithTheReason) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"http://h:1", "must start with redis://"},
      {"redis://", "no host"},
      {"redis://:6379", "no host"},
      {"redis://h:", "empty port"},
      {"redis://h:0", "out of range"},
      {"redis://h:65536", "out of range"},
      {"redis://h:12a", "not a number"},
      {"redis://h:1/16", "out of range"},
      {"redis://h:1/x", "not a number"},
      {"redis://user:pw@h:1", "ACL user names"},
      {"redis://pw@h:1", "without ':password'"},
      {"redis://:@h:1", "empty password"},
      {"redis://[::1:1", "unclosed"},
      {"redis://[::1]x", "unexpected"},
      {"redis://h h:1", "bad character"},
  };
  for (const auto& [url, why] : bad) {
    try {
      parse_redis_url(url);
      ADD_FAILURE() << url << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << url << ": " << e.what();
    }
  }
}

TEST(RedisUrl, ThePasswordIsMaskedInErrors) {
  try {
    parse_redis_url("redis://:hunter2@h:99999");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("***"), std::string::npos) << e.what();
  }
}

TEST(RedisUrl, CommandLineTakesThePasswordOnlyFromTheEnvironment) {
  EXPECT_THROW(redis_url_from_cli("redis://:pw@h:1", nullptr), std::invalid_argument);
  EXPECT_EQ(redis_url_from_cli("redis://h:1", "from-env").password, "from-env");
  EXPECT_TRUE(redis_url_from_cli("redis://h:1", nullptr).password.empty());
  EXPECT_TRUE(redis_url_from_cli("redis://h:1", "").password.empty());
}

}  // namespace
}  // namespace lumaflow
