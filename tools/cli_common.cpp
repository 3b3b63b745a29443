#include "tools/cli_common.hpp"

#include <opencv2/core/utility.hpp>

#include "nodes/core/atomic_file.hpp"
#include "nodes/core/parallel.hpp"
#include "tools/stderr_filter.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

namespace lumaflow::cli {

CLI::Validator thread_count() {
  return CLI::Validator(
      [](std::string& in) -> std::string {
        int v = -1;
        if (!CLI::detail::lexical_cast(in, v) || v < 0 || v > 1024)
          return "must be a whole number from 0 (all cores) to 1024, got '" + in + "'";
        return {};
      },
      "0..1024");
}

CLI::Validator between(double lo, double hi, bool integer) {
  char desc[64];
  std::snprintf(desc, sizeof desc, "%g..%g", lo, hi);
  return CLI::Validator(
      [lo, hi, integer](std::string& in) -> std::string {
        double v = 0;
        long long whole = 0;
        const bool ok = integer ? CLI::detail::lexical_cast(in, whole) : CLI::detail::lexical_cast(in, v);
        if (integer) v = static_cast<double>(whole);
        if (!ok || !(v >= lo && v <= hi)) {
          char buf[96];
          std::snprintf(buf, sizeof buf, "must be %s from %g to %g, got '", integer ? "a whole number" : "a number", lo,
                        hi);
          return buf + in + "'";
        }
        return {};
      },
      desc);
}

CLI::Validator not_a_folder() {
  return CLI::Validator(
      [](std::string& in) -> std::string {
        std::error_code ec;
        if (std::filesystem::is_directory(in, ec))
          return in + " is a folder; give a file path (e.g. " + (std::filesystem::path(in) / "faces.store").string() +
                 ")";
        return {};
      },
      "FILE");
}

void add_umap_options(CLI::App& app, UmapOptions& umap) {
  app.add_option("--neighbors", umap.n_neighbors, "UMAP neighbours")->check(between(2, 1000))->capture_default_str();
  app.add_option("--min-dist", umap.min_dist, "UMAP min_dist")->check(between(0, 1, false))->capture_default_str();
}

void EmbedFlags::add_models_option(CLI::App& app, std::string& models) {
  app.add_option("--models", models,
                 "Folder with the learned embedding's weights (default: $LUMAFLOW_MODELS, else the set-up's " +
                     std::string(LUMAFLOW_MODELS_DEFAULT) + ")");
}

void EmbedFlags::add_to(CLI::App& app, bool with_size) {
  embedding_opt_ =
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
    size_opt_ = app.add_option("--size", size, "Output side N of the N×N luminance crop")
                    ->check(CLI::Range(8, 1024))
                    ->capture_default_str();
  aspect_opt_ =
      app.add_option("--aspect", aspect, "Aspect policy: stretch (like the prototype) or crop (centre square)")
          ->check(CLI::IsMember({"stretch", "crop"}))
          ->capture_default_str();
  faces_opt_ =
      app.add_option("--faces", faces,
                     "Face mode: asis (whole image), detect (crop detected faces), align (landmark-aligned faces)")
          ->check(CLI::IsMember({"asis", "detect", "align"}))
          ->capture_default_str();
  equalize_opt_ = app.add_option("--equalize", equalize, "Photometric normalisation of each crop: none, hist or clahe")
                      ->check(CLI::IsMember({"none", "hist", "clahe"}))
                      ->capture_default_str();
  app.add_option("--threads", threads, "Worker threads (0 = all cores)")->check(thread_count())->capture_default_str();
  app.add_option("--max-megapixels", max_megapixels, "Refuse images whose header declares more pixels")
      ->check(CLI::Validator(
          [](std::string& in) -> std::string {
            double v = 0;
            if (!CLI::detail::lexical_cast(in, v) || !(v > 0) || v > 1e6)
              return "must be a number above 0 and at most 1000000, got '" + in + "'";
            return {};
          },
          "MP > 0"))
      ->capture_default_str();
  app.add_flag("--no-reduced-jpeg", no_reduced_jpeg, "Always decode JPEG at full size");
}

void EmbedFlags::check_against(const Preprocessing& prep, const std::filesystem::path& store) const {
  auto given = [](const CLI::Option* o) { return o && o->count() > 0; };
  auto clash = [&](const std::string& flag, const std::string& mine, const std::string& theirs) {
    throw std::runtime_error(store.string() + ": the store was embedded with " + flag + " " + theirs + "; " + flag +
                             " " + mine + " contradicts it (drop the flag, or embed the images again)");
  };
  if (given(embedding_opt_) && embedding != prep.embedding) clash("--embedding", embedding, prep.embedding);
  if (given(size_opt_) && !prep.learned() && size != prep.image_size)
    clash("--size", std::to_string(size), std::to_string(prep.image_size));
  if (given(aspect_opt_) && aspect != prep.aspect) clash("--aspect", aspect, prep.aspect);
  if (given(faces_opt_) && faces != prep.face_mode) clash("--faces", faces, prep.face_mode);
  if (given(equalize_opt_) && equalize != prep.equalize) clash("--equalize", equalize, prep.equalize);
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
  // --threads is the whole run's budget: OpenCV's own workers (the DNN's convolutions) get the
  // same number, not all cores on top of the graph's.
  cv::setNumThreads(resolve_threads(opt.threads));
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
  if (!stderr_is_terminal()) return {};
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
  for (size_t i = 0; i < s.unsupported.size() && i < 5; ++i)
    out << "ignored: " << s.unsupported[i].string() << ": unsupported file type\n";
  if (s.unsupported.size() > 5) out << "ignored: ... " << s.unsupported.size() - 5 << " more\n";
  out << "embedded " << s.faces << " face" << (s.faces == 1 ? "" : "s") << " from " << s.embedded_frames << " of "
      << s.frames << " images, " << s.labels.size() << " labels; skipped " << s.skipped.size();
  if (s.no_face_frames) out << "; " << s.no_face_frames << " images without a face";
  if (!s.unsupported.empty()) out << "; ignored " << describe_unsupported(s.unsupported);
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
  flags.check_against(s.header().prep, input);
  if (seconds) *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

void write_text_file(const std::filesystem::path& path, const std::string& text) { write_file_atomic(path, text); }

}  // namespace lumaflow::cli
