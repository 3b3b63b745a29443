#include "nodes/broker/streams.hpp"

namespace lumaflow {

std::vector<StreamEntry> read_entries(const RedisValue& list) {
  std::vector<StreamEntry> out;
  for (const auto& e : list.elements) {
    if (e.elements.size() != 2 || e.elements[1].is_nil()) continue;  // deleted while pending
    StreamEntry s;
    s.id = e.elements[0].text();
    const auto& kv = e.elements[1].elements;
    for (size_t i = 0; i + 1 < kv.size(); i += 2) s.fields.emplace_back(kv[i].str, kv[i + 1].str);
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<StreamEntry> read_stream_reply(const RedisValue& reply) {
  if (reply.is_nil() || reply.elements.empty()) return {};
  return read_entries(reply.elements.at(0).elements.at(1));
}

void ensure_group(Connection& c, const std::string& stream, const std::string& group) {
  const RedisValue r = c.command({"XGROUP", "CREATE", stream, group, "0", "MKSTREAM"});
  if (r.is_error() && r.str.rfind("BUSYGROUP", 0) != 0)
    expect_ok(r, c, "cannot create group " + group + " on " + stream);
}

std::vector<GroupState> group_state(Connection& c, const std::string& stream) {
  const RedisValue info = c.command({"XINFO", "GROUPS", stream});
  if (info.is_error()) return {};  // no stream yet
  std::vector<GroupState> out;
  for (const auto& g : info.elements) {
    GroupState s;
    if (const auto* v = g.field("name")) s.name = v->text();
    if (const auto* v = g.field("pending")) s.pending = v->as_integer();
    if (const auto* v = g.field("lag"); v && !v->is_nil()) s.lag = v->as_integer();
    if (const auto* v = g.field("last-delivered-id")) s.last_delivered = v->text();
    if (s.pending > 0) {
      const RedisValue p = c.command({"XPENDING", stream, s.name});
      if (!p.is_error() && p.elements.size() >= 2 && !p.elements[1].is_nil()) s.oldest_pending = p.elements[1].text();
    }
    out.push_back(std::move(s));
  }
  return out;
}

long long unread(Connection& c, const std::string& stream, const std::string& group) {
  for (const auto& g : group_state(c, stream))
    if (g.name == group) {
      if (g.lag >= 0) return g.lag;
      return expect_ok(c.command({"XLEN", stream}), c, "XLEN " + stream).as_integer();
    }
  return 0;
}

bool parse_entry_id(const std::string& id, unsigned long long& ms, unsigned long long& seq) {
  const auto dash = id.find('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == id.size()) return false;
  const std::string a = id.substr(0, dash), b = id.substr(dash + 1);
  if (a.find_first_not_of("0123456789") != std::string::npos || b.find_first_not_of("0123456789") != std::string::npos)
    return false;
  ms = std::stoull(a);
  seq = std::stoull(b);
  return true;
}

namespace {
bool id_less(const std::string& a, const std::string& b) {
  unsigned long long am = 0, as = 0, bm = 0, bs = 0;
  parse_entry_id(a, am, as);
  parse_entry_id(b, bm, bs);
  return am < bm || (am == bm && as < bs);
}
}  // namespace

long long trim_acked(Connection& c, const std::string& stream) {
  const auto groups = group_state(c, stream);
  if (groups.empty()) return 0;     // nobody reads it: nothing is known to be done with
  std::optional<std::string> keep;  // the oldest entry some group still needs
  for (const auto& g : groups) {
    // Not pending and not after last-delivered: acknowledged. Entries after it are unread.
    std::string need = g.oldest_pending ? *g.oldest_pending : g.last_delivered;
    if (!keep || id_less(need, *keep)) keep = need;
  }
  if (!keep || *keep == "0-0") return 0;
  return expect_ok(c.command({"XTRIM", stream, "MINID", *keep}), c, "XTRIM " + stream).as_integer();
}

}  // namespace lumaflow
