// Streams: the few stream operations publish, worker and collect share.
//   read_entries     an XREADGROUP / XREAD / XRANGE / XAUTOCLAIM entry list -> (id, fields)
//   ensure_group     XGROUP CREATE stream group 0 MKSTREAM (an existing group is fine)
//   group_state      XINFO GROUPS (7.0: lag, entries-read) + XPENDING's oldest pending id
//   trim_acked       XTRIM MINID: drops only entries every group has read and acknowledged —
//                    never MAXLEN, which in 7.0 also drops entries still pending
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "nodes/broker/codec.hpp"
#include "nodes/broker/connection.hpp"

namespace lumaflow {

struct StreamEntry {
  std::string id;
  StreamFields fields;
};

std::vector<StreamEntry> read_entries(const RedisValue& list);

// The entries of an XREAD/XREADGROUP reply ([[stream, entries]] or nil).
std::vector<StreamEntry> read_stream_reply(const RedisValue& reply);

void ensure_group(Connection& c, const std::string& stream, const std::string& group);

struct GroupState {
  std::string name;
  long long pending = 0;
  long long lag = -1;  // -1: Redis could not tell (then callers use the stream's length)
  std::string last_delivered;
  std::optional<std::string> oldest_pending;
};

std::vector<GroupState> group_state(Connection& c, const std::string& stream);

// Entries not yet read by `group` (its lag; the stream's length when Redis cannot tell).
long long unread(Connection& c, const std::string& stream, const std::string& group);

// Trims below the oldest entry some group still needs; returns the number of entries removed.
long long trim_acked(Connection& c, const std::string& stream);

// "ms-seq" -> (ms, seq); false for anything else.
bool parse_entry_id(const std::string& id, unsigned long long& ms, unsigned long long& seq);

}  // namespace lumaflow
