#include "nodes/image/decode.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <opencv2/imgcodecs.hpp>

namespace lumaflow {
namespace {

uint32_t be16(const uint8_t* p) { return (uint32_t{p[0]} << 8) | p[1]; }
uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
uint32_t le16(const uint8_t* p) { return uint32_t{p[0]} | (uint32_t{p[1]} << 8); }
uint32_t le32(const uint8_t* p) { return le16(p) | (le16(p + 2) << 16); }

bool starts(std::span<const uint8_t> b, const char* magic, size_t n) {
  return b.size() >= n && std::memcmp(b.data(), magic, n) == 0;
}

ImageProbe probe_jpeg(std::span<const uint8_t> b) {
  ImageProbe p{ImageFormat::jpeg, 0, 0};
  size_t i = 2;
  while (i + 4 <= b.size()) {
    if (b[i] != 0xFF) {
      ++i;
      continue;
    }
    const uint8_t m = b[i + 1];
    if (m == 0xFF) {
      ++i;
      continue;
    }
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {
      i += 2;
      continue;
    }
    if (m == 0xD9 || m == 0xDA) break;  // end or start of scan before any frame header
    const uint32_t len = be16(&b[i + 2]);
    const bool sof = (m >= 0xC0 && m <= 0xCF) && m != 0xC4 && m != 0xC8 && m != 0xCC;
    if (sof) {
      if (i + 9 > b.size()) throw DecodeError("truncated JPEG frame header");
      p.height = be16(&b[i + 5]);
      p.width = be16(&b[i + 7]);
      return p;
    }
    i += 2 + len;
  }
  throw DecodeError("JPEG without a frame header (truncated or damaged)");
}

// Reads one whitespace/comment-separated ASCII integer of a PNM header.
bool pnm_int(std::span<const uint8_t> b, size_t& i, uint32_t& out) {
  for (;;) {
    while (i < b.size() && std::isspace(b[i])) ++i;
    if (i < b.size() && b[i] == '#') {
      while (i < b.size() && b[i] != '\n') ++i;
      continue;
    }
    break;
  }
  if (i >= b.size() || !std::isdigit(b[i])) return false;
  uint64_t v = 0;
  while (i < b.size() && std::isdigit(b[i])) {
    v = v * 10 + (b[i] - '0');
    if (v > 0xFFFFFFFFull) return false;
    ++i;
  }
  out = static_cast<uint32_t>(v);
  return true;
}

ImageProbe probe_tiff(std::span<const uint8_t> b) {
  ImageProbe p{ImageFormat::tiff, 0, 0};
  const bool le = b[0] == 'I';
  auto u16 = [&](size_t o) { return le ? le16(&b[o]) : be16(&b[o]); };
  auto u32 = [&](size_t o) { return le ? le32(&b[o]) : be32(&b[o]); };
  const uint32_t ifd = u32(4);
  if (size_t{ifd} + 2 > b.size()) throw DecodeError("truncated TIFF (first directory outside the file)");
  const uint32_t count = u16(ifd);
  for (uint32_t k = 0; k < count; ++k) {
    const size_t e = size_t{ifd} + 2 + size_t{k} * 12;
    if (e + 12 > b.size()) throw DecodeError("truncated TIFF directory");
    const uint32_t tag = u16(e), type = u16(e + 2);
    const uint32_t value = type == 3 ? u16(e + 8) : u32(e + 8);
    if (tag == 256) p.width = value;
    if (tag == 257) p.height = value;
  }
  return p;
}

// A JPEG whose entropy-coded data is cut off still decodes (libjpeg pads it with grey), so
// truncation must be caught here: inside scan data 0xFF is always followed by 0x00 or a
// restart marker, hence an FF D9 after the first start-of-scan is the real end-of-image.
bool jpeg_has_end(std::span<const uint8_t> b) {
  size_t sos = 0;
  for (size_t i = 2; i + 1 < b.size(); ++i)
    if (b[i] == 0xFF && b[i + 1] == 0xDA) {
      sos = i;
      break;
    }
  if (sos == 0) return false;
  for (size_t i = b.size() - 1; i > sos + 1; --i)
    if (b[i] == 0xD9 && b[i - 1] == 0xFF) return true;
  return false;
}

std::string megapixels(double mp) {
  char buf[32];
  std::snprintf(buf, sizeof buf, mp < 10 ? "%.1f" : "%.0f", mp);
  return buf;
}

}  // namespace

const char* format_name(ImageFormat f) {
  switch (f) {
    case ImageFormat::jpeg: return "JPEG";
    case ImageFormat::png: return "PNG";
    case ImageFormat::pnm: return "PNM";
    case ImageFormat::bmp: return "BMP";
    case ImageFormat::webp: return "WebP";
    case ImageFormat::tiff: return "TIFF";
    default: return "unknown";
  }
}

ImageProbe probe_image(std::span<const uint8_t> b) {
  if (b.empty()) throw DecodeError("empty file (0 bytes)");
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return probe_jpeg(b);
  if (starts(b, "\x89PNG\r\n\x1a\n", 8)) {
    if (b.size() < 24) throw DecodeError("truncated PNG header");
    return {ImageFormat::png, be32(&b[16]), be32(&b[20])};
  }
  if (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') {
    size_t i = 2;
    uint32_t w = 0, h = 0;
    if (!pnm_int(b, i, w) || !pnm_int(b, i, h)) throw DecodeError("damaged PNM header");
    return {ImageFormat::pnm, w, h};
  }
  if (starts(b, "BM", 2)) {
    if (b.size() < 26) throw DecodeError("truncated BMP header");
    const auto h = static_cast<int32_t>(le32(&b[22]));
    return {ImageFormat::bmp, le32(&b[18]), static_cast<uint32_t>(h < 0 ? -static_cast<int64_t>(h) : h)};
  }
  if (b.size() >= 12 && starts(b, "RIFF", 4) && std::memcmp(&b[8], "WEBP", 4) == 0) {
    ImageProbe p{ImageFormat::webp, 0, 0};
    if (b.size() >= 30 && std::memcmp(&b[12], "VP8 ", 4) == 0) {
      p.width = le16(&b[26]) & 0x3FFF;
      p.height = le16(&b[28]) & 0x3FFF;
    } else if (b.size() >= 25 && std::memcmp(&b[12], "VP8L", 4) == 0) {
      const uint32_t bits = le32(&b[21]);
      p.width = (bits & 0x3FFF) + 1;
      p.height = ((bits >> 14) & 0x3FFF) + 1;
    } else if (b.size() >= 30 && std::memcmp(&b[12], "VP8X", 4) == 0) {
      p.width = (uint32_t{b[24]} | (uint32_t{b[25]} << 8) | (uint32_t{b[26]} << 16)) + 1;
      p.height = (uint32_t{b[27]} | (uint32_t{b[28]} << 8) | (uint32_t{b[29]} << 16)) + 1;
    }
    return p;
  }
  if (b.size() >= 8 && (starts(b, "II*\0", 4) || starts(b, "MM\0*", 4))) return probe_tiff(b);
  throw DecodeError("not an image (unrecognised content)");
}

int jpeg_reduction(uint32_t width, uint32_t height, const DecodeOptions& opt) {
  if (!opt.reduced_jpeg || opt.target_size <= 0) return 1;
  // With stretch both sides shrink independently, so the smaller ratio bounds the reduction;
  // with crop the short side is what must still cover N.
  const double ratio = std::min(width, height) / static_cast<double>(opt.target_size);
  for (int f : {8, 4, 2})
    if (ratio >= f) return f;
  return 1;
}

DecodedImage decode_image(std::span<const uint8_t> bytes, const DecodeOptions& opt) {
  const ImageProbe probe = probe_image(bytes);
  DecodedImage out;
  out.format = probe.format;
  if (probe.width && probe.height) {
    const double mp = static_cast<double>(probe.width) * probe.height / 1e6;
    if (mp > opt.max_megapixels)  // up to 2^32 × 2^32 pixels: the figures are printed as doubles
      throw DecodeError("image declares " + std::to_string(probe.width) + "x" + std::to_string(probe.height) +
                        " pixels (" + megapixels(mp) + " MP), over the limit of " + megapixels(opt.max_megapixels) +
                        " MP");
    if (std::min<int64_t>(probe.width, probe.height) < opt.min_side)
      throw DecodeError("image too small (" + std::to_string(probe.width) + "x" + std::to_string(probe.height) +
                        ", minimum side " + std::to_string(opt.min_side) + " px)");
  }
  if (probe.format == ImageFormat::jpeg && !jpeg_has_end(bytes))
    throw DecodeError("truncated JPEG (no end-of-image marker after the scan data)");
  // OpenCV picks its decoder by its own signature checks, stricter than the probe's for PNM, BMP
  // and WebP; when its decoder for the probed format declines, it tries the rest, and GDCM (DICOM,
  // signature "DICM" at offset 128, anywhere in an otherwise arbitrary file) aborts the process
  // on a failed assert for damaged data (found by fuzz/fuzz_decode). JPEG, PNG and TIFF are
  // matched before GDCM by the same magic the probe checks.
  // GDAL's decoder likewise takes "DTED" at offset 140 (through a temporary file in /tmp).
  if (probe.format != ImageFormat::jpeg && probe.format != ImageFormat::png && probe.format != ImageFormat::tiff) {
    if (bytes.size() >= 132 && std::memcmp(&bytes[128], "DICM", 4) == 0)
      throw DecodeError(std::string("damaged ") + format_name(probe.format) + " data (a DICOM marker at byte 128)");
    if (bytes.size() >= 144 && std::memcmp(&bytes[140], "DTED", 4) == 0)
      throw DecodeError(std::string("damaged ") + format_name(probe.format) + " data (a DTED marker at byte 140)");
  }
  const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8U, const_cast<uint8_t*>(bytes.data()));
  int flags = cv::IMREAD_UNCHANGED;
  if (probe.format == ImageFormat::jpeg) {
    out.reduction = jpeg_reduction(probe.width, probe.height, opt);
    if (opt.color)
      flags = out.reduction == 8   ? cv::IMREAD_REDUCED_COLOR_8
              : out.reduction == 4 ? cv::IMREAD_REDUCED_COLOR_4
              : out.reduction == 2 ? cv::IMREAD_REDUCED_COLOR_2
                                   : cv::IMREAD_COLOR;
    else
      flags = out.reduction == 8   ? cv::IMREAD_REDUCED_GRAYSCALE_8
              : out.reduction == 4 ? cv::IMREAD_REDUCED_GRAYSCALE_4
              : out.reduction == 2 ? cv::IMREAD_REDUCED_GRAYSCALE_2
                                   : cv::IMREAD_GRAYSCALE;
  }
  try {
    out.image = cv::imdecode(buf, flags);
  } catch (const cv::Exception& e) {
    throw DecodeError(std::string(format_name(probe.format)) + " decoder failed: " + e.err);
  }
  if (out.image.empty())
    throw DecodeError(std::string("cannot decode ") + format_name(probe.format) + " data (truncated or damaged)");
  if (out.image.depth() != CV_8U && out.image.depth() != CV_16U)
    throw DecodeError("unsupported pixel depth (only 8- and 16-bit integer images)");
  // The header did not say (or another decoder took the bytes): the decoded size is held to the
  // same limit (fuzz_decode: a WebP-looking file decoded to more than the limit allowed).
  const double decoded_mp = static_cast<double>(out.image.cols) * out.image.rows * out.reduction * out.reduction / 1e6;
  if (decoded_mp > opt.max_megapixels)
    throw DecodeError("image decodes to " + std::to_string(out.image.cols * out.reduction) + "x" +
                      std::to_string(out.image.rows * out.reduction) + " pixels, over the limit of " +
                      megapixels(opt.max_megapixels) + " MP");
  out.source_width = probe.width ? probe.width : static_cast<uint32_t>(out.image.cols * out.reduction);
  out.source_height = probe.height ? probe.height : static_cast<uint32_t>(out.image.rows * out.reduction);
  if (std::min(out.image.cols * out.reduction, out.image.rows * out.reduction) < opt.min_side)
    throw DecodeError("image too small (" + std::to_string(out.image.cols) + "x" + std::to_string(out.image.rows) +
                      ")");
  return out;
}

}  // namespace lumaflow
