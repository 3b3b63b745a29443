#include "nodes/image/scan.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>

namespace lumaflow {
namespace fs = std::filesystem;

bool has_image_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static constexpr const char* kExt[] = {".jpg", ".jpeg", ".png", ".pgm", ".ppm", ".bmp", ".webp", ".tif", ".tiff"};
  return std::any_of(std::begin(kExt), std::end(kExt), [&](const char* e) { return ext == e; });
}

bool is_valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len;
    if (c < 0x80)
      len = 1;
    else if (c >= 0xC2 && c <= 0xDF)
      len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
      len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
      len = 4;
    else
      return false;
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += len;
  }
  return true;
}

namespace {

// Classifies one directory entry; follows symlinks, reporting loops and dangling links.
enum class Kind { file, dir, other, bad };

Kind kind_of(const fs::directory_entry& e, std::string& why) {
  std::error_code ec;
  const auto st = fs::status(e.path(), ec);
  if (ec) {
    why = ec.value() == ELOOP ? "symlink loop" : ec.value() == ENOENT ? "dangling symlink" : ec.message();
    return Kind::bad;
  }
  if (fs::is_regular_file(st)) return Kind::file;
  if (fs::is_directory(st)) return Kind::dir;
  return Kind::other;
}

// "s2" before "s10", "2.pgm" before "10.pgm": the order a person expects; ties by bytes.
}  // namespace

bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t i2 = i, j2 = j;
      while (i2 < a.size() && a[i2] == '0') ++i2;
      while (j2 < b.size() && b[j2] == '0') ++j2;
      size_t ie = i2, je = j2;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      if (ie - i2 != je - j2) return ie - i2 < je - j2;
      const int c = a.compare(i2, ie - i2, b, j2, je - j2);
      if (c != 0) return c < 0;
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
      ++i;
      ++j;
    }
  }
  if (a.size() - i != b.size() - j) return a.size() - i < b.size() - j;
  return a < b;
}

namespace {

bool hidden(const fs::path& p) {
  const auto n = p.filename().string();
  return !n.empty() && n[0] == '.';
}

}  // namespace

ScanResult scan_directory(const fs::path& root) {
  std::error_code ec;
  if (!fs::exists(root, ec)) throw ScanError(root.string() + ": input folder does not exist");
  if (!fs::is_directory(root, ec)) throw ScanError(root.string() + ": input is not a folder");
  ScanResult res;
  struct Found {
    std::string folder, file;
    fs::path path;
  };
  std::vector<Found> found;
  std::vector<std::string> folders;

  auto consider_file = [&](const fs::directory_entry& e, const std::string& folder) {
    if (hidden(e.path())) return;
    if (!has_image_extension(e.path())) {
      std::error_code fec;
      if (e.is_regular_file(fec)) res.unsupported.push_back(e.path());
      return;
    }
    std::string why;
    const Kind k = kind_of(e, why);
    const std::string name = e.path().filename().string();
    if (k == Kind::bad) {
      res.problems.push_back({e.path().string(), why});
    } else if (k != Kind::file) {
      res.problems.push_back({e.path().string(), "not a regular file"});
    } else if (!is_valid_utf8(name)) {
      res.problems.push_back({e.path().string(), "file name is not valid UTF-8"});
    } else {
      found.push_back({folder, name, e.path()});
    }
  };

  fs::directory_iterator it(root, ec);
  if (ec) throw ScanError(root.string() + ": cannot list folder: " + ec.message());
  for (const auto& e : it) {
    if (hidden(e.path())) continue;
    std::string why;
    const Kind k = kind_of(e, why);
    if (k == Kind::dir) {
      const std::string folder = e.path().filename().string();
      if (!is_valid_utf8(folder)) {
        res.problems.push_back({e.path().string(), "folder name is not valid UTF-8"});
        continue;
      }
      std::error_code sub_ec;
      fs::directory_iterator sub(e.path(), sub_ec);
      if (sub_ec) {
        res.problems.push_back({e.path().string(), "cannot list folder: " + sub_ec.message()});
        continue;
      }
      bool any = false;
      for (const auto& f : sub) {
        if (hidden(f.path())) continue;
        std::string why2;
        if (kind_of(f, why2) == Kind::dir) {
          res.problems.push_back({f.path().string(), "nested folder ignored (one level of sub-folders per label)"});
          continue;
        }
        const size_t before = found.size();
        consider_file(f, folder);
        any = any || found.size() > before;
      }
      if (any) folders.push_back(folder);
    } else if (k == Kind::bad) {
      res.problems.push_back({e.path().string(), why});
    } else {
      consider_file(e, "");
    }
  }
  std::sort(folders.begin(), folders.end(), natural_less);
  res.labels = folders;
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    return a.folder != b.folder ? natural_less(a.folder, b.folder) : natural_less(a.file, b.file);
  });
  for (auto& f : found) {
    ScanEntry e;
    e.path = f.path;
    e.rel = f.folder.empty() ? f.file : f.folder + "/" + f.file;
    e.label = f.folder.empty()
                  ? -1
                  : static_cast<int>(std::lower_bound(folders.begin(), folders.end(), f.folder, natural_less) -
                                     folders.begin());
    res.entries.push_back(std::move(e));
  }
  std::sort(res.problems.begin(), res.problems.end(),
            [](const Problem& a, const Problem& b) { return a.path < b.path; });
  std::sort(res.unsupported.begin(), res.unsupported.end());
  if (res.entries.empty())
    throw ScanError(root.string() + ": no image files found (expected ROOT/<person>/<image>" +
                    (res.unsupported.empty() ? std::string() : "; " + describe_unsupported(res.unsupported)) + ")");
  return res;
}

std::string describe_unsupported(const std::vector<fs::path>& files) {
  if (files.empty()) return {};
  std::map<std::string, size_t> per;
  for (const auto& f : files) {
    std::string ext = f.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    ++per[ext.empty() ? "(no extension)" : ext];
  }
  std::string out = std::to_string(files.size()) + " file" + (files.size() == 1 ? "" : "s") + " of unsupported type: ";
  bool first = true;
  for (const auto& [ext, n] : per) {
    out += (first ? "" : ", ") + ext + " " + std::to_string(n);
    first = false;
  }
  return out + " (supported: jpg jpeg png pgm ppm bmp webp tif tiff)";
}

std::vector<uint8_t> read_bytes(const fs::path& path, uint64_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error("not a regular file");
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes) {
    ::close(fd);
    throw std::runtime_error("file is " + std::to_string(size >> 20) + " MiB, over the limit of " +
                             std::to_string(max_bytes >> 20) + " MiB");
  }
  std::vector<uint8_t> data(size);
  size_t done = 0;
  while (done < size) {
    const ssize_t r = ::read(fd, data.data() + done, size - done);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      const int err = errno;
      ::close(fd);
      throw std::runtime_error(std::string("read failed: ") + std::strerror(err));
    }
    if (r == 0) break;  // file shrank while reading
    done += static_cast<size_t>(r);
  }
  ::close(fd);
  data.resize(done);
  return data;
}

}  // namespace lumaflow
