#include "nodes/serve/file_guard.hpp"

#include <cctype>
#include <system_error>

namespace lumaflow {
namespace fs = std::filesystem;
namespace {

bool has_percent_escape(const std::string& s) {
  for (size_t i = 0; i + 2 < s.size(); ++i)
    if (s[i] == '%' && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2])))
      return true;
  return false;
}

bool is_under(const fs::path& p, const fs::path& root) {
  auto r = root.begin();
  auto q = p.begin();
  for (; r != root.end(); ++r, ++q) {
    if (r->empty()) continue;  // a trailing separator
    if (q == p.end() || *q != *r) return false;
  }
  return true;
}

GuardResult refuse(int status, std::string why) {
  GuardResult g;
  g.status = status;
  g.reason = std::move(why);
  return g;
}

}  // namespace

FileGuard::FileGuard(const std::vector<fs::path>& roots) {
  for (const auto& r : roots) {
    if (r.empty()) continue;
    std::error_code ec;
    const fs::path real = fs::canonical(r, ec);
    if (!ec) roots_.push_back(real);
  }
}

GuardResult FileGuard::check(const std::string& requested) const {
  if (requested.empty()) return refuse(403, "no path");
  if (requested.find('\0') != std::string::npos) return refuse(403, "a NUL byte in the path");
  if (has_percent_escape(requested)) return refuse(403, requested + ": still percent-encoded");
  const fs::path asked(requested);
  for (const auto& part : asked)
    if (part == "..") return refuse(403, requested + ": '..' is not served");
  std::error_code ec;
  const fs::path real = fs::canonical(asked, ec);
  if (ec) return refuse(404, requested + ": no such file");
  bool inside = false;
  for (const auto& root : roots_) inside = inside || is_under(real, root);
  if (!inside) return refuse(403, requested + ": outside the watched and annotate folders");
  if (!fs::is_regular_file(real, ec)) return refuse(404, requested + ": not a regular file");
  GuardResult g;
  g.ok = true;
  g.status = 200;
  g.real = real;
  return g;
}

}  // namespace lumaflow
