// LiveServer over real sockets: the file guard's refusals (each case), the token rule, read-only,
// the JSON and metrics endpoints, and the stream cap (ten open pages, /metrics still answers).
#include "nodes/serve/live_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <opencv2/imgcodecs.hpp>
#include <regex>
#include <set>

#include "cli_util.hpp"
#include "test_util.hpp"

namespace lumaflow {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads what arrives within `ms` (stops early once `until` has been seen).
std::string read_for(int fd, int ms, const std::string& until = "") {
  std::string got;
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(1, left.count()))) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
    if (!until.empty() && got.find(until) != std::string::npos) break;
  }
  return got;
}

struct Reply {
  int status = 0;
  std::string head, body;
};

// One request with the target exactly as given (no client-side encoding).
Reply request(int port, const std::string& target, const std::string& headers = "", const std::string& method = "GET") {
  Reply r;
  const int fd = connect_to(port);
  if (fd < 0) return r;
  const std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers +
                          (method == "POST" ? "Content-Length: 0\r\n" : "") + "\r\n";
  [[maybe_unused]] const ssize_t n = ::write(fd, req.data(), req.size());
  const std::string all = read_for(fd, 5000);
  ::close(fd);
  const auto end = all.find("\r\n\r\n");
  if (all.size() < 12 || end == std::string::npos) return r;
  r.status = std::stoi(all.substr(9, 3));
  r.head = all.substr(0, end);
  r.body = all.substr(end + 4);
  return r;
}

struct Served {
  TempDir tmp;
  fs::path watched, outside;
  LiveState state;
  std::unique_ptr<LiveServer> server;
  explicit Served(ServeOptions so = {}) : watched(tmp / "watched"), outside(tmp / "outside") {
    fs::create_directories(watched / "sub");
    fs::create_directories(outside);
    test::write_text(watched / "sub" / "a.jpg", "jpeg bytes");
    test::write_text(outside / "secret.jpg", "secret");
    fs::create_symlink(outside / "secret.jpg", watched / "link.jpg");
    fs::create_directory_symlink(outside, watched / "dirlink");
    cv::imwrite((watched / "grey.pgm").string(), cv::Mat(8, 8, CV_8U, cv::Scalar(100)));
    so.port = 0;
    so.roots = {watched};
    server = std::make_unique<LiveServer>(state, so);
  }
  int port() const { return server->port(); }
};

TEST(LiveServer, ServesOnlyFilesUnderTheWatchedFolder) {
  Served s;
  const std::string w = s.watched.string();
  const auto ok = request(s.port(), "/file?path=" + w + "/sub/a.jpg");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "jpeg bytes");
  EXPECT_NE(ok.head.find("image/jpeg"), std::string::npos);

  // ../ in the path, literally and percent-encoded (the server decodes once).
  EXPECT_EQ(request(s.port(), "/file?path=" + w + "/../outside/secret.jpg").status, 403);
  EXPECT_EQ(request(s.port(), "/file?path=" + w + "/sub/../../outside/secret.jpg").status, 403);
  EXPECT_EQ(request(s.port(), "/file?path=" + w + "/%2e%2e/outside/secret.jpg").status, 403);
  EXPECT_EQ(request(s.port(), "/file?path=" + w + "%2F%2E%2E%2Foutside%2Fsecret.jpg").status, 403);
  // Encoded twice: still an escape after one decoding.
  EXPECT_EQ(request(s.port(), "/file?path=" + w + "/%252e%252e/outside/secret.jpg").status, 403);
  // A symlink to a file outside, and a file through a symlinked folder leading out.
  const auto link = request(s.port(), "/file?path=" + w + "/link.jpg");
  EXPECT_EQ(link.status, 403);
  EXPECT_EQ(link.body.find("secret"), std::string::npos);
  EXPECT_EQ(request(s.port(), "/file?path=" + w + "/dirlink/secret.jpg").status, 403);
  // Absolute paths elsewhere, missing files, no path.
  EXPECT_EQ(request(s.port(), "/file?path=/etc/passwd").status, 403);
  EXPECT_EQ(request(s.port(), "/file?path=" + w + "/nope.jpg").status, 404);
  EXPECT_EQ(request(s.port(), "/file").status, 403);
  // The watched folder's name as a prefix of another folder is not inside it.
  fs::create_directories(s.tmp / "watched2");
  test::write_text(s.tmp / "watched2" / "x.jpg", "x");
  EXPECT_EQ(request(s.port(), "/file?path=" + w + "2/x.jpg").status, 403);
}

TEST(LiveServer, ImagesBrowsersCannotShowAreSentAsPng) {
  Served s;
  auto r = request(s.port(), "/file?path=" + s.watched.string() + "/grey.pgm");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.head.find("image/png"), std::string::npos);
  const cv::Mat img =
      cv::imdecode(cv::Mat(1, static_cast<int>(r.body.size()), CV_8U, r.body.data()), cv::IMREAD_UNCHANGED);
  EXPECT_EQ(img.cols, 8);
}

TEST(LiveServer, TokenRule) {
  EXPECT_TRUE(token_accepted("", "", ""));
  EXPECT_TRUE(token_accepted("abc", "abc", ""));
  EXPECT_TRUE(token_accepted("abc", "", "Bearer abc"));
  EXPECT_FALSE(token_accepted("abc", "abd", ""));
  EXPECT_FALSE(token_accepted("abc", "ab", "Bearer abcd"));
  EXPECT_FALSE(token_accepted("abc", "", "abc"));
  EXPECT_TRUE(is_loopback("127.0.0.1"));
  EXPECT_TRUE(is_loopback("::1"));
  EXPECT_TRUE(is_loopback("localhost"));
  EXPECT_FALSE(is_loopback("0.0.0.0"));
  EXPECT_FALSE(is_loopback("192.168.1.4"));
  const std::string t1 = make_access_token(), t2 = make_access_token();
  EXPECT_EQ(t1.size(), 32u);
  EXPECT_NE(t1, t2);
  EXPECT_EQ(parse_serve_address("127.0.0.1:8080"), std::make_pair(std::string("127.0.0.1"), 8080));
  EXPECT_EQ(parse_serve_address(":9000"), std::make_pair(std::string("127.0.0.1"), 9000));
  EXPECT_EQ(parse_serve_address("[::1]:80"), std::make_pair(std::string("::1"), 80));
  EXPECT_THROW(parse_serve_address("8080"), std::invalid_argument);
  EXPECT_THROW(parse_serve_address("host:99999"), std::invalid_argument);
  EXPECT_THROW(parse_serve_address("host:x"), std::invalid_argument);
}

TEST(LiveServer, LoopbackNeedsNoTokenOtherAddressesDo) {
  Served local;
  EXPECT_TRUE(local.server->token().empty());
  EXPECT_EQ(request(local.port(), "/api/stats").status, 200);

  ServeOptions any;
  any.host = "0.0.0.0";
  Served open(any);
  const std::string token = open.server->token();
  ASSERT_EQ(token.size(), 32u);
  EXPECT_NE(open.server->url().find("?token=" + token), std::string::npos);
  EXPECT_EQ(request(open.port(), "/api/stats").status, 401);
  EXPECT_EQ(request(open.port(), "/metrics").status, 401);
  EXPECT_EQ(request(open.port(), "/api/stats?token=wrong").status, 401);
  EXPECT_EQ(request(open.port(), "/api/stats?token=" + token).status, 200);
  EXPECT_EQ(request(open.port(), "/metrics", "Authorization: Bearer " + token + "\r\n").status, 200);
}

TEST(LiveServer, ReadOnlyAndJsonEndpoints) {
  Served s;
  s.state.add_line(R"({"path":"a.png","face":0,"label":"s1","status":"known","ms":2.5})");
  EXPECT_EQ(request(s.port(), "/api/stats", "", "POST").status, 405);
  EXPECT_EQ(request(s.port(), "/file?path=x", "", "DELETE").status, 405);
  const auto page = request(s.port(), "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("new EventSource"), std::string::npos);
  std::set<std::string> ids;  // the script finds its elements by id: each must be unique
  const std::regex id_attr(R"re( id="([^"]+)")re");
  for (auto it = std::sregex_iterator(page.body.begin(), page.body.end(), id_attr); it != std::sregex_iterator(); ++it)
    EXPECT_TRUE(ids.insert((*it)[1]).second) << "id used twice: " << (*it)[1];
  EXPECT_GE(ids.size(), 10u);
  const auto stats = request(s.port(), "/api/stats");
  EXPECT_NE(stats.body.find("\"faces\":1"), std::string::npos) << stats.body;
  const auto answers = request(s.port(), "/api/answers?max=5");
  EXPECT_NE(answers.body.find("\"label\":\"s1\""), std::string::npos) << answers.body;
  const auto metrics = request(s.port(), "/metrics");
  EXPECT_NE(metrics.head.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(metrics.body.find("lumaflow_faces_total 1"), std::string::npos);
  EXPECT_EQ(request(s.port(), "/nothing").status, 404);
}

int open_stream(int port, std::string& head) {
  const int fd = connect_to(port);
  const std::string req = "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
  [[maybe_unused]] const ssize_t n = ::write(fd, req.data(), req.size());
  head = read_for(fd, 3000, "\r\n\r\n");
  return fd;
}

TEST(LiveServer, TenOpenPagesDoNotStarveMetricsAndEachGetsEveryLine) {
  ServeOptions so;
  so.max_streams = 10;
  Served s(so);
  s.state.add_line(R"({"path":"old.png","face":0,"label":"s1","status":"known","ms":1})");
  std::vector<int> streams;
  std::vector<std::string> heads;  // the headers and whatever came with them
  for (int i = 0; i < 10; ++i) {
    std::string& head = heads.emplace_back();
    streams.push_back(open_stream(s.port(), head));
    ASSERT_NE(head.find("200 OK"), std::string::npos) << head;
    EXPECT_NE(head.find("text/event-stream"), std::string::npos);
  }
  std::string head11;
  const int eleventh = open_stream(s.port(), head11);
  EXPECT_NE(head11.find("503"), std::string::npos) << head11;
  ::close(eleventh);

  for (int i = 0; i < 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto m = request(s.port(), "/metrics");
    const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(m.status, 200);
    EXPECT_NE(m.body.find("lumaflow_event_streams 10"), std::string::npos);
    EXPECT_LT(ms, 500) << "/metrics took " << ms << " ms with ten open streams";
  }
  s.state.add_line(R"({"path":"new.png","face":0,"label":"s2","status":"known","ms":1})");
  for (size_t i = 0; i < streams.size(); ++i) {
    const int fd = streams[i];
    const std::string got = heads[i] + read_for(fd, 3000, "new.png");
    EXPECT_NE(got.find("old.png"), std::string::npos);  // replayed
    EXPECT_NE(got.find("data: {\"path\":\"new.png\""), std::string::npos) << got;
    ::close(fd);
  }
  // Closed pages free their slots (noticed at the next write: a line or the keepalive).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (s.server->open_streams() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(s.server->open_streams(), 0u);
  std::string head;
  const int again = open_stream(s.port(), head);
  EXPECT_NE(head.find("200 OK"), std::string::npos);
  ::close(again);
}

TEST(LiveServer, StopEndsOpenStreamsPromptly) {
  Served s;
  std::string head;
  const int fd = open_stream(s.port(), head);
  ASSERT_NE(head.find("200 OK"), std::string::npos);
  const auto t0 = std::chrono::steady_clock::now();
  s.server->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  ::close(fd);
}

TEST(LiveServer, WatchRefusesServeWithCsvInOneLine) {
  TempDir tmp;
  const auto r =
      test::run_cli("watch x.model " + test::shell_quote(tmp.path().string()) + " --serve 127.0.0.1:0 --format csv");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--serve"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace lumaflow
