#include "nodes/broker/publisher.hpp"

#include <thread>

#include "nodes/broker/streams.hpp"
#include "nodes/core/checksum.hpp"
#include "nodes/image/scan.hpp"

namespace lumaflow {

int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Publisher::Publisher(Connection& c, PublishOptions opt) : c_(c), opt_(std::move(opt)) {
  ensure_group(c_, opt_.stream, opt_.group);
  const RedisValue last = c_.command({"XREVRANGE", opt_.stream, "+", "-", "COUNT", "1"});
  if (!last.is_error() && !last.elements.empty())
    parse_entry_id(last.elements[0].elements.at(0).text(), last_ms_, last_seq_);
  unread_ = unread(c_, opt_.stream, opt_.group);
}

std::string Publisher::next_id() {
  const auto now = static_cast<unsigned long long>(unix_ms_now());
  if (now > last_ms_) {
    last_ms_ = now;
    last_seq_ = 0;
  } else {
    ++last_seq_;
  }
  return std::to_string(last_ms_) + "-" + std::to_string(last_seq_);
}

void Publisher::wait_for_room() {
  // The count is exact after a check and only grows by our own XADDs in between: check again
  // when it may have reached the limit, and at least every 64 frames (workers drain it).
  if (unread_ < opt_.max_lag && ++since_check_ < 64) return;
  since_check_ = 0;
  unread_ = unread(c_, opt_.stream, opt_.group);
  bool told = false;
  while (unread_ >= opt_.max_lag) {
    if (!told && opt_.waiting) opt_.waiting(unread_);
    told = true;
    trim_acked(c_, opt_.stream);
    const auto until = std::chrono::steady_clock::now() + opt_.poll;
    while (std::chrono::steady_clock::now() < until) {
      if (opt_.stop && opt_.stop()) throw BrokerStopped("publish stopped while waiting for the workers");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    unread_ = unread(c_, opt_.stream, opt_.group);
  }
  if (told) trim_acked(c_, opt_.stream);
}

std::string Publisher::publish(const std::filesystem::path& file, const std::string& name) {
  FrameEntry f;
  f.name = name;
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) throw std::runtime_error(file.string() + ": cannot read: " + ec.message());
  const auto mtime = std::filesystem::last_write_time(file, ec);
  if (!ec)
    f.captured_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::file_clock::to_sys(mtime).time_since_epoch())
            .count();
  if (size > opt_.max_bytes) {
    const auto abs = std::filesystem::weakly_canonical(file, ec);
    const auto shared =
        opt_.shared_dir.empty() ? std::filesystem::path() : std::filesystem::weakly_canonical(opt_.shared_dir, ec);
    const auto rel = abs.lexically_relative(shared);
    if (shared.empty() || rel.empty() || *rel.begin() == "..")
      throw FrameTooLarge(file.string() + ": " + std::to_string(size) + " bytes is over the limit of " +
                          std::to_string(opt_.max_bytes) + " (--max-bytes)" +
                          (opt_.shared_dir.empty() ? std::string(" and no --shared-dir is given")
                                                   : " and it is not under --shared-dir " + opt_.shared_dir.string()));
    const auto bytes = read_bytes(file, size + 1);
    f.hash = xxh3_64(bytes.data(), bytes.size());
    f.shared_path = abs.string();
  } else {
    f.bytes = read_bytes(file, opt_.max_bytes);
    f.hash = xxh3_64(f.bytes.data(), f.bytes.size());
  }
  return publish(std::move(f));
}

std::string Publisher::publish(FrameEntry f) {
  wait_for_room();
  if (f.published_ms == 0) f.published_ms = unix_ms_now();
  const StreamFields fields = encode_frame(f);
  for (int attempt = 0;; ++attempt) {
    const std::string id = next_id();
    RedisArgs args{"XADD", opt_.stream, id};
    append_fields(args, fields);
    const RedisValue r = c_.command(args);
    if (!r.is_error()) {
      ++unread_;
      return id;
    }
    // Sent again after a lost reply: the first one went through when our entry is there (the
    // same publish time and hash: another publisher may have taken the same id).
    const RedisValue there = c_.command({"XRANGE", opt_.stream, id, id});
    const auto got = there.is_error() ? std::vector<StreamEntry>{} : read_entries(there);
    if (!got.empty() && got[0].fields == fields) {
      ++unread_;
      return id;
    }
    // Another publisher took ids past ours: continue above the stream's last id.
    if (attempt == 100 || r.str.find("equal or smaller") == std::string::npos) expect_ok(r, c_, "XADD " + opt_.stream);
    const RedisValue last = c_.command({"XREVRANGE", opt_.stream, "+", "-", "COUNT", "1"});
    if (!last.is_error() && !last.elements.empty())
      parse_entry_id(last.elements[0].elements.at(0).text(), last_ms_, last_seq_);
  }
}

}  // namespace lumaflow
