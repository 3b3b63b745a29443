#include "nodes/broker/collector.hpp"

#include <fstream>
#include <nlohmann/json.hpp>

#include "nodes/broker/codec.hpp"
#include "nodes/broker/publisher.hpp"
#include "nodes/broker/streams.hpp"
#include "nodes/core/atomic_file.hpp"

namespace lumaflow {

std::filesystem::path Collector::position_file(const std::filesystem::path& store) {
  return std::filesystem::path(store.string() + ".broker");
}

Collector::Collector(Connection& c, const FittedModel& model, CollectOptions opt, UnknownTracker* tracker,
                     LineSink emit, WarnSink warn)
    : c_(c), opt_(std::move(opt)), warn_(warn) {
  std::error_code ec;
  const auto pos = position_file(opt_.store);
  if (std::filesystem::exists(pos, ec)) {
    std::ifstream in(pos);
    try {
      const auto j = nlohmann::json::parse(in);
      if (j.at("stream").get<std::string>() != opt_.results)
        throw std::runtime_error("it is for stream '" + j.at("stream").get<std::string>() + "'");
      last_id_ = j.at("last").get<std::string>();
      unsigned long long ms = 0, seq = 0;
      if (!parse_entry_id(last_id_, ms, seq)) throw std::runtime_error("bad id '" + last_id_ + "'");
    } catch (const std::exception& e) {
      throw std::runtime_error(pos.string() + ": cannot use the saved position: " + e.what());
    }
  }
  if (std::filesystem::exists(opt_.store, ec)) {
    const EmbeddingStore s = load_store(opt_.store);
    for (size_t i = 0; i < s.size(); ++i) {
      const RecordInfo& r = s.record(i);
      seen_.emplace(r.path.substr(0, r.path.find('/')), r.face_index);
    }
  }
  recorder_ = std::make_unique<Recorder>(
      model,
      RecorderOptions{opt_.store, opt_.format, std::chrono::milliseconds(200), std::chrono::milliseconds(0), false},
      tracker, std::move(emit), std::move(warn), [this] { failed_ = true; });
}

Collector::~Collector() = default;

void Collector::save_position() {
  write_file_atomic(position_file(opt_.store),
                    nlohmann::json{{"stream", opt_.results}, {"last", last_id_}}.dump() + "\n");
}

size_t Collector::round() {
  const RedisValue r = c_.command({"XREAD", "COUNT", std::to_string(opt_.batch), "BLOCK",
                                   std::to_string(opt_.block.count()), "STREAMS", opt_.results, last_id_});
  const auto entries = read_stream_reply(expect_ok(r, c_, "XREAD " + opt_.results));
  if (entries.empty()) return 0;
  const auto steady = std::chrono::steady_clock::now();
  const int64_t wall = unix_ms_now();
  for (const auto& e : entries) {
    ++sum_.entries;
    ResultEntry res;
    try {
      res = decode_result(e.id, e.fields);
    } catch (const CodecError& err) {
      ++sum_.bad;
      if (warn_) warn_(opt_.results + ": " + err.what() + "; skipped");
      continue;
    }
    if (!seen_.emplace(res.frame_id, res.face).second) {
      ++sum_.duplicates;
      continue;
    }
    ArrivedFile file;
    file.rel = res.frame_id + "/" + res.name;
    file.path = file.rel;
    file.is_file = false;
    file.arrived = steady - std::chrono::milliseconds(std::max<int64_t>(0, wall - res.published_ms));
    FrameResult fr;
    fr.entry.rel = file.rel;
    std::vector<FaceAnswer> faces;
    if (res.status == ResultStatus::error) {
      fr.error = res.error;
    } else if (res.status == ResultStatus::ok) {
      fr.source_width = res.source_width;
      fr.source_height = res.source_height;
      fr.content_hash = res.content_hash;
      FaceAnswer fa;
      fa.answer.face_index = res.face;
      fa.answer.box = res.crop.box;
      fa.answer.result = std::move(res.result);
      fa.reduced = std::move(res.reduced);
      faces.push_back(std::move(fa));
      fr.faces.push_back(std::move(res.crop));
    }
    recorder_->record(file, fr, faces);
  }
  recorder_->commit();
  sum_.recorded = recorder_->summary();
  if (failed_) return entries.size();  // not durable: read again by the next run (finish() says why)
  last_id_ = entries.back().id;
  save_position();
  if (opt_.trim) expect_ok(c_.command({"XTRIM", opt_.results, "MINID", last_id_}), c_, "XTRIM " + opt_.results);
  return entries.size();
}

CollectSummary Collector::run() {
  while (!failed_ && !(opt_.stop && opt_.stop())) round();
  return finish();
}

CollectSummary Collector::finish() {
  sum_.recorded = recorder_->finish();
  return sum_;
}

}  // namespace lumaflow
