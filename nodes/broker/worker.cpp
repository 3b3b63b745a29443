#include "nodes/broker/worker.hpp"

#include <map>

#include "nodes/broker/streams.hpp"
#include "nodes/core/checksum.hpp"

namespace lumaflow {

std::string model_key(const std::string& stream, const std::string& group) {
  return "lumaflow:" + stream + ":" + group + ":model";
}

void claim_model(Connection& c, const std::string& key, const std::string& hash, const std::string& who) {
  const std::string value = hash + " " + who;
  expect_ok(c.command({"SET", key, value, "NX"}), c, "SET " + key);
  const std::string have = expect_ok(c.command({"GET", key}), c, "GET " + key).text();
  if (have.substr(0, have.find(' ')) != hash)
    throw BrokerError(c.url().display() + ": this model (" + hash + ") differs from the one the group's workers use (" +
                      have.substr(0, have.find(' ')) + ", first recorded by " + have.substr(have.find(' ') + 1) +
                      "; key " + key + ")");
}

namespace {

struct Taken {
  std::vector<StreamEntry> entries;
  bool claimed = false;
};

class Loop {
 public:
  Loop(Connection& c, const WorkerOptions& opt) : c_(c), opt_(opt) {}

  Taken take() {
    Taken t;
    if (c_.generation() != own_read_gen_) {  // (re)connected: our own pending entries first
      t.entries = read_group("0");
      t.claimed = true;
      if (t.entries.empty()) own_read_gen_ = c_.generation();
      if (!t.entries.empty()) return t;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_claim_) {
      t.entries = autoclaim();
      t.claimed = true;
      if (!t.entries.empty()) return t;
      next_claim_ = now + std::max(opt_.claim_idle / 4, std::chrono::milliseconds(100));
    }
    t.claimed = false;
    t.entries = read_group(">");
    return t;
  }

  // Delivery counts of entries now pending for this consumer.
  std::map<std::string, long long> deliveries(const std::vector<StreamEntry>& es) {
    std::map<std::string, long long> out;
    if (es.empty()) return out;
    const RedisValue r = c_.command({"XPENDING", opt_.stream, opt_.group, es.front().id, es.back().id,
                                     std::to_string(es.size() * 2 + 16), opt_.consumer});
    for (const auto& p : r.elements)
      if (p.elements.size() >= 4) out[p.elements[0].text()] = p.elements[3].as_integer();
    return out;
  }

  void write(const std::vector<ResultEntry>& results, const std::vector<StreamEntry>& frames) {
    std::vector<RedisArgs> cmds{{"MULTI"}};
    for (const auto& r : results) {
      RedisArgs a{"XADD", opt_.results, "*"};
      append_fields(a, encode_result(r));
      cmds.push_back(std::move(a));
    }
    RedisArgs ack{"XACK", opt_.stream, opt_.group};
    for (const auto& f : frames) ack.push_back(f.id);
    cmds.push_back(std::move(ack));
    cmds.push_back({"EXEC"});
    const auto replies = c_.pipeline(cmds);
    const RedisValue& exec = replies.back();
    expect_ok(exec, c_, "MULTI/EXEC of results");
    if (exec.is_nil()) throw BrokerError(c_.url().display() + ": MULTI/EXEC of results aborted");
    for (const auto& r : exec.elements) expect_ok(r, c_, "XADD/XACK in MULTI");
  }

 private:
  std::vector<StreamEntry> read_group(const std::string& from) {
    RedisArgs a{"XREADGROUP", "GROUP", opt_.group, opt_.consumer, "COUNT", std::to_string(opt_.batch)};
    if (from == ">") {
      a.push_back("BLOCK");
      a.push_back(std::to_string(opt_.block.count()));
    }
    a.insert(a.end(), {"STREAMS", opt_.stream, from});
    const RedisValue r = c_.command(a);
    if (r.is_error() && r.str.rfind("NOGROUP", 0) == 0) {  // the server lost its data (no persistence)
      ensure_group(c_, opt_.stream, opt_.group);
      return {};
    }
    return read_stream_reply(expect_ok(r, c_, "XREADGROUP " + opt_.stream));
  }

  std::vector<StreamEntry> autoclaim() {
    const RedisValue r =
        c_.command({"XAUTOCLAIM", opt_.stream, opt_.group, opt_.consumer, std::to_string(opt_.claim_idle.count()),
                    cursor_, "COUNT", std::to_string(opt_.batch)});
    if (r.is_error()) {
      if (r.str.rfind("NOGROUP", 0) == 0) return {};
      expect_ok(r, c_, "XAUTOCLAIM " + opt_.stream);
    }
    if (r.elements.size() < 2) return {};
    cursor_ = r.elements[0].text();  // "0-0": the whole list was scanned
    return read_entries(r.elements[1]);
  }

  Connection& c_;
  const WorkerOptions& opt_;
  uint64_t own_read_gen_ = 0;
  std::string cursor_ = "0-0";
  std::chrono::steady_clock::time_point next_claim_{};
};

}  // namespace

WorkerSummary run_worker(Connection& c, const WorkerOptions& opt, const ProcessFrames& process) {
  ensure_group(c, opt.stream, opt.group);
  Loop loop(c, opt);
  WorkerSummary sum;
  while (!(opt.stop && opt.stop())) {
    Taken t = loop.take();
    if (t.entries.empty()) continue;
    const auto counts = t.claimed ? loop.deliveries(t.entries) : std::map<std::string, long long>{};
    if (t.claimed) sum.claimed += t.entries.size();
    std::vector<FrameEntry> frames;
    std::vector<ResultEntry> results;
    for (const auto& e : t.entries) {
      FrameEntry f;
      f.id = e.id;
      try {
        const auto it = counts.find(e.id);
        if (it != counts.end() && it->second > opt.max_deliveries)
          throw CodecError("delivered " + std::to_string(it->second) + " times and never finished (it may stop " +
                           "the workers that take it); given up");
        f = decode_frame(e.id, e.fields);
        if (f.shared_path.empty() && xxh3_64(f.bytes.data(), f.bytes.size()) != f.hash)
          throw CodecError("entry " + e.id + ": the bytes do not match their hash (damaged in transit)");
        frames.push_back(std::move(f));
      } catch (const CodecError& err) {
        for (const auto& [k, v] : e.fields)
          if (k == "name") f.name = v;
        results.push_back(error_result(f, err.what(), opt.consumer));
        ++sum.errors;
      }
    }
    std::vector<std::vector<ResultEntry>> out(frames.size());
    if (!frames.empty()) process(frames, out);
    for (auto& per_frame : out)
      for (auto& r : per_frame) {
        if (r.status == ResultStatus::error) ++sum.errors;
        results.push_back(std::move(r));
      }
    loop.write(results, t.entries);
    sum.frames += t.entries.size();
    sum.results += results.size();
  }
  return sum;
}

}  // namespace lumaflow
