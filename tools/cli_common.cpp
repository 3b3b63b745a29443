#include "tools/cli_common.hpp"

#include "nodes/core/atomic_file.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

namespace lumaflow::cli {

void EmbedFlags::add_models_option(CLI::App& app, std::string& models) {
  app.add_option("--models", models,
                 "Folder with the learned embedding's weights (default: $LUMAFLOW_MODELS, else the set-up's " +
                     std::string(LUMAFLOW_MODELS_DEFAULT) + ")");
}

void EmbedFlags::add_to(CLI::App& app, bool with_size) {
  app.add_option("--embedding", embedding,
                 "What a face becomes: pixels (its own N×N luminance, the default) or resnet (dlib's learned 128-d "
                 "descriptor of its aligned colour chip)")
      ->check(CLI::IsMember({"pixels", "resnet"}))
      ->capture_default_str();
  add_models_option(app, models);
  app.add_option("--chip-colour", chip_colour,
                 "resnet: colour of the face chips: rgb, grey, or auto (rgb; fit switches to grey when every "
                 "training face is grey, so colour frames are compared like with like)")
      ->check(CLI::IsMember({"auto", "rgb", "grey"}))
      ->capture_default_str();
  if (with_size)
    app.add_option("--size", size, "Output side N of the N×N luminance crop")
        ->check(CLI::Range(8, 1024))
        ->capture_default_str();
  app.add_option("--aspect", aspect, "Aspect policy: stretch (like the prototype) or crop (centre square)")
      ->check(CLI::IsMember({"stretch", "crop"}))
      ->capture_default_str();
  app.add_option("--faces", faces,
                 "Face mode: asis (whole image), detect (crop detected faces), align (landmark-aligned faces)")
      ->check(CLI::IsMember({"asis", "detect", "align"}))
      ->capture_default_str();
  app.add_option("--equalize", equalize, "Photometric normalisation of each crop: none, hist or clahe")
      ->check(CLI::IsMember({"none", "hist", "clahe"}))
      ->capture_default_str();
  app.add_option("--threads", threads, "Worker threads (0 = all cores)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--max-megapixels", max_megapixels, "Refuse images whose header declares more pixels")
      ->capture_default_str();
  app.add_flag("--no-reduced-jpeg", no_reduced_jpeg, "Always decode JPEG at full size");
}

IngestOptions EmbedFlags::options() const {
  IngestOptions o;
  o.embed.embedding = parse_embedding(embedding);
  if (o.embed.embedding == Embedding::resnet && equalize != "none")
    throw std::invalid_argument("--equalize " + equalize + " applies to the pixel embedding only, not to --embedding " +
                                embedding);
  o.models_dir = models;
  o.embed.chip_grey = chip_colour == "grey";
  o.embed.size = size;
  o.embed.aspect = parse_aspect(aspect);
  o.embed.faces = parse_face_mode(faces);
  o.embed.equalize = parse_equalize(equalize);
  o.embed.max_megapixels = max_megapixels;
  o.embed.reduced_jpeg = !no_reduced_jpeg;
  o.threads = threads;
  return o;
}

std::unique_ptr<FaceTools> make_face_tools(const IngestOptions& opt) {
  if (opt.embed.faces == FaceMode::asis && opt.embed.embedding == Embedding::pixels) return nullptr;
  return std::make_unique<FaceTools>(opt.embed, opt.models_dir);
}

bool all_thumbnails_grey(const EmbeddingStore& store) {
  if (!store.learned() || store.empty()) return false;
  for (size_t i = 0; i < store.size(); ++i) {
    const Thumbnail t = store.thumbnail(i);
    if (!t.data) return false;
    if (t.channels == 1) continue;
    for (int p = 0; p < t.side * t.side; ++p) {
      const uint8_t* px = t.data + static_cast<size_t>(p) * static_cast<size_t>(t.channels);
      if (px[0] != px[1] || px[1] != px[2]) return false;
    }
  }
  return true;
}

Progress progress_bar(const std::string& what) {
  if (!::isatty(STDERR_FILENO)) return {};
  auto last = std::make_shared<std::chrono::steady_clock::time_point>();
  auto start = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  return [what, last, start](size_t done, size_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (done != total && now - *last < std::chrono::milliseconds(100)) return;
    *last = now;
    const double secs = std::chrono::duration<double>(now - *start).count();
    const int width = 30;
    const int filled = total ? static_cast<int>(width * done / total) : width;
    std::fprintf(
        stderr, "\r%s [%s%s] %zu/%zu  %.0f/s ", what.c_str(), std::string(static_cast<size_t>(filled), '#').c_str(),
        std::string(static_cast<size_t>(width - filled), '.').c_str(), done, total, secs > 0 ? done / secs : 0.0);
    if (done == total) std::fputc('\n', stderr);
    std::fflush(stderr);
  };
}

void print_summary(const IngestSummary& s, std::ostream& out) {
  for (const auto& p : s.skipped) out << "skipped: " << p.path << ": " << p.reason << "\n";
  out << "embedded " << s.faces << " face" << (s.faces == 1 ? "" : "s") << " from " << s.embedded_frames << " of "
      << s.frames << " images, " << s.labels.size() << " labels; skipped " << s.skipped.size();
  if (s.no_face_frames) out << "; " << s.no_face_frames << " images without a face";
  char buf[96];
  std::snprintf(buf, sizeof buf, "; %.2f s, %.0f images/s\n", s.seconds, s.seconds > 0 ? s.frames / s.seconds : 0.0);
  out << buf;
}

bool looks_like_store(const std::filesystem::path& p) { return is_store_file(p); }

EmbeddingStore load_store_verbose(const std::filesystem::path& p) {
  LoadReport rep;
  EmbeddingStore s = load_store(p, &rep);
  if (rep.damage)
    std::cerr << "warning: " << p.string() << ": " << *rep.damage << "; read the " << s.size()
              << " intact records (lumaflow repair fixes the file)\n";
  return s;
}

EmbeddingStore load_input(const std::filesystem::path& input, const EmbedFlags& flags, double* seconds) {
  if (!std::filesystem::exists(input)) throw std::runtime_error(input.string() + ": no such file or folder");
  if (std::filesystem::is_directory(input)) {
    const IngestOptions opt = flags.options();
    auto tools = make_face_tools(opt);
    IngestSummary sum;
    EmbeddingStore store = ingest_to_memory(input, opt, tools.get(), &sum, progress_bar("embed"));
    print_summary(sum, std::cerr);
    if (seconds) *seconds = sum.seconds;
    return store;
  }
  const auto t0 = std::chrono::steady_clock::now();
  EmbeddingStore s = load_store_verbose(input);
  if (seconds) *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

void write_text_file(const std::filesystem::path& path, const std::string& text) { write_file_atomic(path, text); }

}  // namespace lumaflow::cli
