// The page template of report.html (report.hpp fills in the library and the data): inline CSS and
// script only. window.lumaflowReport = {chart, shown()} lets tests count the drawn points.
#pragma once

#include <string>

namespace lumaflow {

const std::string& report_page_html();

}  // namespace lumaflow
