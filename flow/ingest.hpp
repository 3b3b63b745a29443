// Ingest graph: scanned files -> embedded faces, on a oneTBB flow graph.
//
//   input_node (numbered, serial) -> limiter (bounded in flight) -> read -> decode -> faces
//     -> describe (learned embedding only) -> sequencer (by frame number) -> sink (serial, in input order) -> limiter
//     decrement
//
// read/decode/faces/describe run in parallel on `threads` workers (a task_arena of that size). Every
// frame — failed or not — travels to the sink exactly once, so the sequencer never stalls and
// no message is lost; at most `max_in_flight` frames exist at once, so memory stays flat
// whatever the folder size. This file only wires nodes/embed's stages; no numerics here.
#pragma once

#include <functional>
#include <vector>

#include "nodes/image/embed.hpp"

namespace lumaflow {

struct IngestOptions {
  EmbedOptions embed;
  int threads = 0;         // <= 0: all cores
  int max_in_flight = 0;   // <= 0: 4 per thread
  std::string models_dir;  // learned embedding weights (--models); empty: $LUMAFLOW_MODELS or the set-up's
};

// Calls sink(result) serially, in entry order, once per entry. An exception thrown by the sink
// stops the graph and is rethrown here after in-flight frames have drained.
void run_ingest(const std::vector<ScanEntry>& entries, const IngestOptions& opt, const FaceTools* tools,
                const std::function<void(FrameResult&&)>& sink);

// What an ingest run did, for the CLI summary and report.json.
struct IngestSummary {
  size_t frames = 0;             // files scanned
  size_t embedded_frames = 0;    // frames that produced at least one face
  size_t faces = 0;              // records written
  size_t no_face_frames = 0;     // decoded fine but no face found (detect/align modes)
  std::vector<Problem> skipped;  // scan problems and failed frames, with reasons
  // Files ignored for their extension (.gif, ...).
  std::vector<std::filesystem::path> unsupported;
  std::vector<std::string> labels;
  double seconds = 0;
};

// Progress callback: (frames done, frames total). Called from the serial sink.
using Progress = std::function<void(size_t, size_t)>;

// Scans `root`, runs the graph and streams the records into a new store at `out`
// (temp file + rename). Throws ScanError/StoreError; bad files are skipped and reported.
IngestSummary ingest_to_file(const std::filesystem::path& root, const std::filesystem::path& out,
                             const IngestOptions& opt, const FaceTools* tools, const Progress& progress = {});

// Same, into memory (analysis of a folder without writing a store).
EmbeddingStore ingest_to_memory(const std::filesystem::path& root, const IngestOptions& opt, const FaceTools* tools,
                                IngestSummary* summary = nullptr, const Progress& progress = {});

StoreHeader make_header(const IngestOptions& opt, const std::vector<std::string>& labels);

}  // namespace lumaflow
