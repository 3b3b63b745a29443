// Scan: an input folder -> the ordered list of image files and their labels.
//
// Layout rule (the prototype's): ROOT/<label>/<image> — one level of sub-folders, the folder
// name is the label; images directly in ROOT are accepted as unlabelled (label -1). Deeper
// folders, hidden entries and non-image files are skipped (the latter listed as unsupported).
// Extensions: jpg jpeg png pgm ppm bmp webp tif tiff, case-insensitive. Labels and entries are
// sorted naturally ("s2" before "s10"; folder, then file), so the same folder always yields the
// same sequence numbers. Entries that cannot be used (a symlink loop, a dangling link, a name
// that is not valid UTF-8, a nested folder) are returned as problems with their path; the scan
// goes on.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace lumaflow {

struct ScanEntry {
  std::filesystem::path path;  // as found on disk
  std::string rel;             // relative to the root, '/' separated, valid UTF-8
  int label = -1;              // index into ScanResult::labels, -1 = unlabelled
};

struct Problem {
  std::string path;
  std::string reason;
};

struct ScanResult {
  std::vector<ScanEntry> entries;
  std::vector<std::string> labels;
  std::vector<Problem> problems;  // skipped entries, with reasons
  // Regular files skipped for their extension (e.g. .gif, .txt), sorted; hidden files are not
  // counted.
  std::vector<std::filesystem::path> unsupported;
};

struct ScanError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

bool has_image_extension(const std::filesystem::path& p);
bool is_valid_utf8(const std::string& s);
bool natural_less(const std::string& a, const std::string& b);

// "3 files of unsupported type: .gif 2, .txt 1 (supported: ...)"; empty for none.
std::string describe_unsupported(const std::vector<std::filesystem::path>& files);

// Throws ScanError when root does not exist, is not a folder, or holds no image.
ScanResult scan_directory(const std::filesystem::path& root);

// Reads a whole regular file; refuses files over max_bytes before reading. Throws
// std::runtime_error with the reason (the caller reports the path).
std::vector<uint8_t> read_bytes(const std::filesystem::path& path, uint64_t max_bytes);

}  // namespace lumaflow
