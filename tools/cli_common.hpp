// Helpers shared by the lumaflow sub-commands: embed options, progress bar, summaries.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "flow/ingest.hpp"
#include "nodes/analysis/umap.hpp"
#include "nodes/image/faces.hpp"

namespace lumaflow::cli {

// The preprocessing flags every command that embeds images accepts.
struct EmbedFlags {
  std::string embedding = "pixels";
  std::string models;                // --models DIR
  std::string chip_colour = "auto";  // resnet: auto | rgb | grey
  int size = 128;
  std::string aspect = "stretch";
  std::string faces = "asis";
  std::string equalize = "none";
  int threads = 0;
  double max_megapixels = 100.0;
  bool no_reduced_jpeg = false;

  void add_to(CLI::App& app, bool with_size = true);
  // Only --models (commands whose embedding comes from a model: classify, watch).
  static void add_models_option(CLI::App& app, std::string& models);
  IngestOptions options() const;
  // A store input fixes the preprocessing: a flag given explicitly that says otherwise is an
  // error (std::runtime_error naming the store, the flag and the store's value).
  void check_against(const Preprocessing& prep, const std::filesystem::path& store) const;

 private:
  CLI::Option* embedding_opt_ = nullptr;
  CLI::Option *size_opt_ = nullptr, *aspect_opt_ = nullptr, *faces_opt_ = nullptr, *equalize_opt_ = nullptr;
};

// Validators whose failures read as one short line.
CLI::Validator thread_count();  // 0 (all cores) .. 1024
CLI::Validator not_a_folder();  // an output file path that is not an existing folder
// A number in [lo, hi] ("must be from 0 to 100, got '500'"); whole numbers only when `integer`.
CLI::Validator between(double lo, double hi, bool integer = true);

// --neighbors and --min-dist, range-checked, for the commands that fit a UMAP (analyze, fit).
void add_umap_options(CLI::App& app, UmapOptions& umap);

// Loads face tools when the options need them (nullptr for pixels of whole images).
std::unique_ptr<FaceTools> make_face_tools(const IngestOptions& opt);

// resnet: whether every face of the store was grey (its thumbnails have B = G = R): then the
// chips were grey too, and a model fitted on it should make grey chips of colour frames.
bool all_thumbnails_grey(const EmbeddingStore& store);

// A progress bar on stderr when it is a terminal; silent otherwise.
Progress progress_bar(const std::string& what);

// Prints the skipped files (one line each, path: reason) and the closing summary to stderr.
void print_summary(const IngestSummary& s, std::ostream& out);

// True when PATH is an existing store file (by content), false for a folder.
bool looks_like_store(const std::filesystem::path& p);

// Loads a store, printing a warning when its tail was damaged.
EmbeddingStore load_store_verbose(const std::filesystem::path& p);

// Embeds a folder in memory, or loads a store; prints the ingest summary for folders.
EmbeddingStore load_input(const std::filesystem::path& input, const EmbedFlags& flags, double* seconds = nullptr);

// Writes a small text file atomically (temp + rename).
void write_text_file(const std::filesystem::path& path, const std::string& text);

}  // namespace lumaflow::cli
