#include "nodes/serve/report.hpp"

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <sstream>

#include "nodes/core/atomic_file.hpp"
#include "nodes/serve/report_page.hpp"

#ifndef LUMAFLOW_WEB_DEFAULT
#define LUMAFLOW_WEB_DEFAULT "web"
#endif

namespace lumaflow {
namespace {

std::string base64(const std::vector<uchar>& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (i + 1 < in.size() ? uint32_t{in[i + 1]} << 8 : 0) |
                       (i + 2 < in.size() ? uint32_t{in[i + 2]} : 0);
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += i + 1 < in.size() ? t[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? t[v & 63] : '=';
  }
  return out;
}

// The face's thumbnail as a PNG data URL ("" when the record has none).
std::string thumbnail_png(const EmbeddingStore& store, size_t i, int side) {
  const Thumbnail t = store.thumbnail(i);
  if (!t.data || t.side <= 0) return {};
  cv::Mat m(t.side, t.side, t.channels == 3 ? CV_8UC3 : CV_8UC1, const_cast<uint8_t*>(t.data));
  cv::Mat shown;
  if (t.side > side)
    cv::resize(m, shown, cv::Size(side, side), 0, 0, cv::INTER_AREA);
  else
    shown = m.clone();
  if (t.channels == 3) cv::cvtColor(shown, shown, cv::COLOR_RGB2BGR);  // learned thumbnails are RGB
  std::vector<uchar> png;
  cv::imencode(".png", shown, png);
  return "data:image/png;base64," + base64(png);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// JSON inside <script>: "</" must not end the element early.
std::string script_safe(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    out += json[i];
    if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/') out += "\\";
  }
  return out;
}

nlohmann::json face_data(const EmbeddingStore& store, const AnalysisResult& r, const ReportOptions& opt) {
  const size_t n = store.size();
  std::set<size_t> with_thumb;
  const size_t step = std::max<size_t>(1, (n + opt.max_thumbnails - 1) / std::max<size_t>(1, opt.max_thumbnails));
  for (size_t i = 0; i < n; i += step) with_thumb.insert(i);
  for (const auto& m : r.faces.mistakes) with_thumb.insert({m.face, m.shown});
  nlohmann::json x = nlohmann::json::array(), y = nlohmann::json::array(), label = nlohmann::json::array(),
                 path = nlohmann::json::array(), thumb = nlohmann::json::array(), nb = nlohmann::json::array();
  const bool placed = r.faces.umap.rows() == static_cast<Eigen::Index>(n);
  const bool has_nb = r.faces.neighbors.rows() == static_cast<Eigen::Index>(n);
  for (size_t i = 0; i < n; ++i) {
    const auto row = static_cast<Eigen::Index>(i);
    x.push_back(placed ? std::round(r.faces.umap(row, 0) * 1e4) / 1e4 : 0.0);
    y.push_back(placed ? std::round(r.faces.umap(row, 1) * 1e4) / 1e4 : 0.0);
    label.push_back(store.record(i).label);
    path.push_back(store.record(i).path);
    thumb.push_back(with_thumb.count(i) ? thumbnail_png(store, i, opt.thumbnail_side) : std::string());
    nlohmann::json near = nlohmann::json::array();
    if (has_nb)
      for (Eigen::Index k = 0; k < r.faces.neighbors.cols(); ++k) near.push_back(r.faces.neighbors(row, k));
    nb.push_back(std::move(near));
  }
  nlohmann::json clusters = nlohmann::json::object();
  for (const auto& [name, labels] : r.faces.clusters) clusters[name] = labels;
  nlohmann::json mistakes = nlohmann::json::array();
  for (const auto& m : r.faces.mistakes)
    mistakes.push_back(
        {{"face", m.face}, {"shown", m.shown}, {"truth", m.truth}, {"predicted", m.predicted}, {"unknown", m.unknown}});
  return {{"placed", placed},
          {"x", x},
          {"y", y},
          {"label", label},
          {"path", path},
          {"thumb", thumb},
          {"nb", nb},
          {"clusters", clusters},
          {"mistakes", mistakes},
          {"names", store.header().labels}};
}

}  // namespace

std::filesystem::path find_web_dir(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("LUMAFLOW_WEB"); env && *env) return env;
  return LUMAFLOW_WEB_DEFAULT;
}

bool write_report_html(const std::filesystem::path& out_dir, const EmbeddingStore& store, const AnalysisResult& result,
                       const ReportOptions& opt) {
  std::string echarts;
  std::error_code ec;
  const auto lib = opt.web_dir / kEchartsFile;
  if (!opt.web_dir.empty() && std::filesystem::is_regular_file(lib, ec)) echarts = read_file(lib);
  nlohmann::json data = face_data(store, result, opt);
  data["report"] = result.report;
  data["web_dir"] = opt.web_dir.string();
  std::string page = report_page_html();
  const auto put = [&page](const std::string& mark, const std::string& text) {
    const auto at = page.find(mark);
    if (at != std::string::npos) page.replace(at, mark.size(), text);
  };
  // The library first: the data must not be searched for the library's marker.
  put("/*@ECHARTS@*/", script_safe(echarts));
  put("/*@DATA@*/", script_safe(data.dump()));
  write_file_atomic(out_dir / "report.html", page);
  return !echarts.empty();
}

}  // namespace lumaflow
