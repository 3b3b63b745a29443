// report.html: analyze's results as one self-contained page that opens offline — the face map
// (2-D UMAP) with zoom and pan, the face under the pointer shown large with its label, DBSCAN
// cluster and nearest neighbours (analysis space), filters by person and by cluster, the eps
// sweep as a slider, the held-out mistakes with both faces side by side, and report.json as
// tables. Plots are drawn by Apache ECharts (echarts.min.js of the npm package echarts@5.6.0,
// fetched at set-up by tools/fetch_web.sh), inlined into the file. Without it the page says so
// and shows analyze's PNG charts (beside it) instead; the tables and mistakes stay.
// Thumbnails (PNG, base64) are kept for at most `max_thumbnails` faces, sampled evenly as the
// atlas samples, plus every face of a held-out mistake; pixel faces are shrunk to
// `thumbnail_side`, learned records bring their own 32-px colour thumbnails.
#pragma once

#include <filesystem>
#include <string>

#include "nodes/measure/stages.hpp"
#include "nodes/store/store.hpp"

namespace lumaflow {

struct ReportOptions {
  std::filesystem::path web_dir;  // holds echarts.min.js; empty or without it: the PNG fallback
  size_t max_thumbnails = 3000;
  int thumbnail_side = 48;
};

// The folder of the page's scripts: `flag` (--web), else $LUMAFLOW_WEB, else the compile-time
// default (the set-up's web/ folder next to the sources).
std::filesystem::path find_web_dir(const std::string& flag);

inline constexpr const char* kEchartsFile = "echarts.min.js";

// Writes out_dir/report.html atomically. Returns whether the plotting library was inlined.
// Throws FileError naming the file when it cannot be written.
bool write_report_html(const std::filesystem::path& out_dir, const EmbeddingStore& store, const AnalysisResult& result,
                       const ReportOptions& opt);

}  // namespace lumaflow
