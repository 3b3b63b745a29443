#include "nodes/serve/live_server.hpp"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <sstream>
#include <stdexcept>

#include "nodes/serve/live_page.hpp"

namespace lumaflow {
namespace {

constexpr std::uintmax_t kMaxServedBytes = 64ull << 20;

std::string lower_ext(const std::filesystem::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e;
}

// Content type of what browsers show as is; empty: convert to PNG first.
std::string browser_type(const std::string& ext) {
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".png") return "image/png";
  if (ext == ".gif") return "image/gif";
  if (ext == ".webp") return "image/webp";
  if (ext == ".bmp") return "image/bmp";
  return {};
}

bool equal_constant_time(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

std::pair<std::string, int> parse_serve_address(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument(text + ": expected HOST:PORT (e.g. 127.0.0.1:8080)");
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "127.0.0.1";
  if (host.find(':') != std::string::npos && text.front() != '[')
    throw std::invalid_argument(text + ": write an IPv6 host in brackets, e.g. [::1]:8080");
  int port = -1;
  if (!port_text.empty() && port_text.size() <= 5 &&
      std::all_of(port_text.begin(), port_text.end(), [](unsigned char c) { return std::isdigit(c); }))
    port = std::stoi(port_text);
  if (port < 0 || port > 65535) throw std::invalid_argument(text + ": the port must be 0-65535");
  return {host, port};
}

bool is_loopback(const std::string& host) { return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0; }

std::string make_access_token() {
  std::random_device rd;  // the OS's random source: a token must not be reproducible
  static const char* hex = "0123456789abcdef";
  std::string t;
  for (int i = 0; i < 32; ++i) t += hex[rd() & 15];
  return t;
}

bool token_accepted(const std::string& expected, const std::string& query_token, const std::string& authorization) {
  if (expected.empty()) return true;
  if (!query_token.empty() && equal_constant_time(query_token, expected)) return true;
  const std::string bearer = "Bearer ";
  return authorization.rfind(bearer, 0) == 0 && equal_constant_time(authorization.substr(bearer.size()), expected);
}

LiveServer::LiveServer(LiveState& state, ServeOptions opt)
    : state_(state), opt_(std::move(opt)), guard_(opt_.roots), svr_(std::make_unique<httplib::Server>()) {
  if (!is_loopback(opt_.host) && opt_.token.empty()) opt_.token = make_access_token();
  const size_t threads = opt_.max_streams + 8;
  svr_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr_->set_keep_alive_max_count(100);
  routes();
  const std::string where = opt_.host + ":" + std::to_string(opt_.port);
  if (opt_.port == 0) {
    port_ = svr_->bind_to_any_port(opt_.host);
    if (port_ <= 0) throw std::runtime_error(where + ": cannot listen");
  } else {
    if (!svr_->bind_to_port(opt_.host, opt_.port)) throw std::runtime_error(where + ": cannot listen (in use?)");
    port_ = opt_.port;
  }
  thread_ = std::thread([this] { svr_->listen_after_bind(); });
}

LiveServer::~LiveServer() { stop(); }

void LiveServer::stop() {
  if (stopping_.exchange(true)) return;
  state_.close();
  svr_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string LiveServer::url() const {
  const bool v6 = opt_.host.find(':') != std::string::npos;
  std::string u = "http://" + (v6 ? "[" + opt_.host + "]" : opt_.host) + ":" + std::to_string(port_) + "/";
  if (!opt_.token.empty()) u += "?token=" + opt_.token;
  return u;
}

void LiveServer::routes() {
  using httplib::Request;
  using httplib::Response;
  svr_->set_default_headers({{"X-Content-Type-Options", "nosniff"}, {"Cache-Control", "no-store"}});
  svr_->set_pre_routing_handler([this](const Request& req, Response& res) {
    if (req.method != "GET" && req.method != "HEAD") {
      res.status = 405;
      res.set_content("read-only: only GET\n", "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!token_accepted(opt_.token, req.get_param_value("token"), req.get_header_value("Authorization"))) {
      res.status = 401;
      res.set_content("an access token is needed: ?token=T or Authorization: Bearer T\n", "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  svr_->Get("/", [](const Request&, Response& res) { res.set_content(live_page_html(), "text/html; charset=utf-8"); });
  svr_->Get("/api/stats",
            [this](const Request&, Response& res) { res.set_content(state_.stats_json(), "application/json"); });
  svr_->Get("/api/identities",
            [this](const Request&, Response& res) { res.set_content(state_.identities_json(), "application/json"); });
  svr_->Get("/api/answers", [this](const Request& req, Response& res) {
    size_t max = 100;
    const std::string m = req.get_param_value("max");
    if (!m.empty() && m.size() < 7 && std::all_of(m.begin(), m.end(), [](unsigned char c) { return std::isdigit(c); }))
      max = std::stoul(m);
    res.set_content(state_.answers_json(max), "application/json");
  });
  svr_->Get("/metrics", [this](const Request&, Response& res) {
    res.set_content(state_.metrics_text(streams_.load()), "text/plain; version=0.0.4; charset=utf-8");
  });
  svr_->Get("/file", [this](const Request& req, Response& res) {
    const GuardResult g = guard_.check(req.get_param_value("path"));
    if (!g.ok) {
      res.status = g.status;
      res.set_content(g.reason + "\n", "text/plain");
      return;
    }
    std::error_code ec;
    if (std::filesystem::file_size(g.real, ec) > kMaxServedBytes || ec) {
      res.status = 403;
      res.set_content("too large\n", "text/plain");
      return;
    }
    const std::string type = browser_type(lower_ext(g.real));
    std::ifstream in(g.real, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (!type.empty()) {
      res.set_content(bytes.str(), type);
      return;
    }
    const std::string raw = bytes.str();
    const cv::Mat img = cv::imdecode(cv::Mat(1, static_cast<int>(raw.size()), CV_8U, const_cast<char*>(raw.data())),
                                     cv::IMREAD_UNCHANGED);
    std::vector<uchar> png;
    if (img.empty() || !cv::imencode(".png", img, png)) {
      res.status = 415;
      res.set_content("not an image a browser can be shown\n", "text/plain");
      return;
    }
    res.set_content(std::string(png.begin(), png.end()), "image/png");
  });
  svr_->Get("/events", [this](const Request& req, Response& res) {
    if (streams_.fetch_add(1) >= opt_.max_streams) {
      --streams_;
      res.status = 503;
      res.set_content("too many open event streams\n", "text/plain");
      return;
    }
    uint64_t start = state_.last_id();
    start -= std::min<uint64_t>(start, opt_.replay);
    const std::string last = req.get_header_value("Last-Event-ID");
    if (!last.empty() && last.size() < 20 &&
        std::all_of(last.begin(), last.end(), [](unsigned char c) { return std::isdigit(c); }))
      start = std::stoull(last);
    auto cursor = std::make_shared<uint64_t>(start);
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, cursor](size_t, httplib::DataSink& sink) {
          if (stopping_.load()) return false;
          if (!state_.wait_after(*cursor, opt_.keepalive)) {
            if (stopping_.load() || state_.closed()) return false;
            static constexpr char kKeepalive[] = ": keepalive\n\n";
            return sink.write(kKeepalive, sizeof kKeepalive - 1);
          }
          std::string batch;
          for (const auto& e : state_.after(*cursor)) {
            batch += e->sse;
            *cursor = e->id;
          }
          return sink.write(batch.data(), batch.size());
        },
        [this](bool) { --streams_; });
  });
}

}  // namespace lumaflow
