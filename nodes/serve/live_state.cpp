#include "nodes/serve/live_state.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

namespace lumaflow {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kRateWindow = std::chrono::seconds(10);
constexpr size_t kIdentityFaces = 8;

void drop_older(std::deque<Clock::time_point>& q, Clock::time_point now) {
  while (!q.empty() && now - q.front() > kRateWindow) q.pop_front();
}

double rate(const std::deque<Clock::time_point>& q, Clock::time_point now) {
  size_t n = 0;
  for (auto t : q)
    if (now - t <= kRateWindow) ++n;
  return static_cast<double>(n) / std::chrono::duration<double>(kRateWindow).count();
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// A number as Prometheus reads it: the shortest text that reads back to the same double.
std::string prom_number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

void counter(std::string& out, const char* name, const char* help, uint64_t v) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name + " " +
         std::to_string(v) + "\n";
}

void gauge(std::string& out, const char* name, const char* help, double v) {
  out +=
      std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + " " + prom_number(v) + "\n";
}

}  // namespace

LiveState::LiveState(size_t ring, bool counts_store)
    : ring_size_(std::max<size_t>(1, ring)), counts_store_(counts_store) {}

void LiveState::add_line(const std::string& line) {
  // Parsing and formatting happen outside the lock: readers wait only for the pointer pushes.
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  const auto now = Clock::now();
  auto ev = std::make_shared<LiveEvent>();
  ev->line = line;
  ev->at = now;
  std::lock_guard lock(mu_);
  if (!j.is_object()) {
    ++stats_.bad_lines;
    return;
  }
  ev->id = next_id_++;
  ev->sse = "id: " + std::to_string(ev->id) + "\ndata: " + line + "\n\n";

  const std::string path = j.value("path", std::string());
  const std::string status = j.value("status", std::string());
  if (path != last_path_ || status == "error") {
    ++stats_.frames;
    frame_times_.push_back(now);
  }
  last_path_ = path;
  if (status == "error") {
    ++stats_.errors;
  } else {
    ++stats_.faces;
    face_times_.push_back(now);
    if (counts_store_) ++stats_.store_records;
    if (status == "unknown") {
      ++stats_.unknown;
      const auto label = j.find("label");
      if (label != j.end() && label->is_string()) {
        LiveIdentity& id = identities_[label->get<std::string>()];
        id.name = label->get<std::string>();
        ++id.faces;
        id.recent.push_back(line);
        if (id.recent.size() > kIdentityFaces) id.recent.erase(id.recent.begin());
      }
    } else {
      ++stats_.known;
    }
    const auto ms = j.find("ms");
    if (ms != j.end() && ms->is_number()) {
      const double v = ms->get<double>();
      size_t b = 0;
      while (b < kLatencyBucketsMs.size() && v > kLatencyBucketsMs[b]) ++b;
      ++stats_.buckets[b];
      stats_.latency_sum_ms += v;
      ++stats_.latency_count;
      recent_ms_.push_back(v);
      if (recent_ms_.size() > ring_size_) recent_ms_.pop_front();
    }
  }
  drop_older(frame_times_, now);
  drop_older(face_times_, now);
  ring_.push_back(std::move(ev));
  if (ring_.size() > ring_size_) ring_.pop_front();
  cv_.notify_all();
}

LiveStats LiveState::stats() const {
  std::vector<double> ms;
  LiveStats s;
  {
    std::lock_guard lock(mu_);
    s = stats_;
    ms.assign(recent_ms_.begin(), recent_ms_.end());
    const auto now = Clock::now();
    s.frames_per_s = rate(frame_times_, now);
    s.faces_per_s = rate(face_times_, now);
  }
  s.p50_ms = quantile(ms, 0.50);
  s.p99_ms = quantile(ms, 0.99);
  return s;
}

std::vector<std::shared_ptr<const LiveEvent>> LiveState::recent(size_t max) const {
  std::lock_guard lock(mu_);
  const size_t n = std::min(max, ring_.size());
  return {ring_.end() - static_cast<std::ptrdiff_t>(n), ring_.end()};
}

std::vector<std::shared_ptr<const LiveEvent>> LiveState::after(uint64_t after, size_t max) const {
  std::lock_guard lock(mu_);
  // Ids in the ring are consecutive: index arithmetic instead of a search.
  std::vector<std::shared_ptr<const LiveEvent>> out;
  if (ring_.empty() || ring_.back()->id <= after) return out;
  const uint64_t first = ring_.front()->id;
  size_t i = after < first ? 0 : static_cast<size_t>(after - first + 1);
  for (; i < ring_.size() && out.size() < max; ++i) out.push_back(ring_[i]);
  return out;
}

uint64_t LiveState::last_id() const {
  std::lock_guard lock(mu_);
  return next_id_ - 1;
}

bool LiveState::wait_after(uint64_t after, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return closed_ || next_id_ - 1 > after; });
  return next_id_ - 1 > after;
}

void LiveState::close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  cv_.notify_all();
}

bool LiveState::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

std::map<std::string, LiveIdentity> LiveState::identities() const {
  std::lock_guard lock(mu_);
  return identities_;
}

std::string LiveState::stats_json() const {
  const LiveStats s = stats();
  nlohmann::ordered_json j;
  j["frames"] = s.frames;
  j["faces"] = s.faces;
  j["known"] = s.known;
  j["unknown"] = s.unknown;
  j["errors"] = s.errors;
  j["store_records"] = s.store_records;
  j["frames_per_s"] = s.frames_per_s;
  j["faces_per_s"] = s.faces_per_s;
  j["latency_ms"] = {{"p50", s.p50_ms}, {"p99", s.p99_ms}};
  return j.dump();
}

std::string LiveState::answers_json(size_t max) const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : recent(max)) list.push_back(nlohmann::json::parse(e->line, nullptr, false));
  return nlohmann::json{{"answers", std::move(list)}}.dump();
}

std::string LiveState::identities_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [key, id] : identities()) {
    nlohmann::json faces = nlohmann::json::array();
    for (const auto& l : id.recent) faces.push_back(nlohmann::json::parse(l, nullptr, false));
    list.push_back({{"name", id.name}, {"faces", id.faces}, {"recent", std::move(faces)}});
  }
  return nlohmann::json{{"identities", std::move(list)}}.dump();
}

std::string LiveState::metrics_text(size_t streams) const {
  const LiveStats s = stats();
  const size_t identities = this->identities().size();
  std::string out;
  counter(out, "lumaflow_frames_total", "Frames answered (files with a face line or an error line).", s.frames);
  counter(out, "lumaflow_faces_total", "Faces answered.", s.faces);
  counter(out, "lumaflow_unknown_faces_total", "Faces answered unknown by the open set.", s.unknown);
  counter(out, "lumaflow_errors_total", "Error lines (files that could not be used, write errors).", s.errors);
  counter(out, "lumaflow_store_records_total", "Records appended to the store by this watch.", s.store_records);
  gauge(out, "lumaflow_proposed_identities", "Proposed identities seen during this watch.",
        static_cast<double>(identities));
  gauge(out, "lumaflow_event_streams", "Open server-sent event streams (live pages).", static_cast<double>(streams));
  const char* h = "lumaflow_answer_latency_seconds";
  out +=
      std::string("# HELP ") + h + " From the file settling to its face's answer line.\n# TYPE " + h + " histogram\n";
  uint64_t cumulative = 0;
  for (size_t b = 0; b <= kLatencyBucketsMs.size(); ++b) {
    cumulative += s.buckets[b];
    const std::string le = b < kLatencyBucketsMs.size() ? prom_number(kLatencyBucketsMs[b] / 1000.0) : "+Inf";
    out += std::string(h) + "_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += std::string(h) + "_sum " + prom_number(s.latency_sum_ms / 1000.0) + "\n";
  out += std::string(h) + "_count " + std::to_string(s.latency_count) + "\n";
  return out;
}

}  // namespace lumaflow
