// Open set: proposes new identities among the faces a model calls "unknown".
//
// UnknownTracker keeps every unknown face (its vector in the model's reduced space,
// FittedModel::reduce, and its path). After each new unknown face it runs DBSCAN among the
// unknowns (nodes/dbscan, Euclidean, normalize = false, eps = model.unknown_eps,
// min_pts = model.min_faces): a dense group becomes a proposed identity "new-1", "new-2", ...
// Rules, chosen so names are stable while a watch runs:
//  - ids are given in order of creation and never reused; a face never leaves its identity;
//  - a new unknown face within eps of a member of an identity joins it at once (the identity
//    of its nearest such member);
//  - a DBSCAN cluster holding members of one or more identities gives its unassigned faces to
//    the oldest of them (identities are not merged); a cluster with none becomes a new one.
// A user may name an identity (relabel_identity, `lumaflow relabel MODEL new-1 Alice`); answers
// then carry the name instead of the key.
// Cost per unknown face: O(n·k) distances, plus DBSCAN O(n²·k) when the face has a neighbour
// within eps (n = unknowns so far, k = reduced dims); memory O(n·k).
//
// Sidecar file `<model>.identities.json` (written atomically: temp file, fsync, rename), so a
// second run continues where the first stopped:
//   {
//     "format": "lumaflow-identities", "version": 2, "checksum": "<16 hex digits>",
//     "model": {"store_hash": "00000000deadbeef", "dims": 100, "eps": 3.25, "min_pts": 5},
//     "next_id": 3,
//     "identities": [{"id": 1, "key": "new-1", "name": "Alice"}, {"id": 2, "key": "new-2", "name": null}],
//     "unknowns": [{"path": "cam/0001.jpg", "face": 0, "identity": 1, "vector": [0.12, -3.5, ...]},
//                  {"path": "cam/0002.jpg", "face": 0, "identity": null, "vector": [...]}]
//   }
// "model" identifies the model the vectors belong to (its store hash as 16 hex digits, reduced
// dimension, eps, min_pts); a sidecar made for another model is refused rather than mixed in.
// "name" is null until the user names the identity. Vectors are floats printed to round-trip.
// "checksum" is XXH3-64 (nodes/core/checksum.hpp) of the file's compact JSON text without the
// checksum field; a sidecar that does not match is refused with one line naming it (version 1
// files, without checksum, are still read).
// Locks (nodes/store/lock.hpp): a tracker with a sidecar holds the sidecar's lock
// (`<sidecar>.lock`) while it lives, so a second watch on the same model is refused with a line
// naming the process that has it, instead of the two overwriting each other's proposals. Every
// write (a tracker's save, relabel_identity) also holds a short write lock
// (`<sidecar>.write.lock`) around its read-modify-write, so a name given by `relabel` while a
// watch runs is never lost.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nodes/core/matrix.hpp"
#include "nodes/store/lock.hpp"

namespace lumaflow {

struct FittedModel;

struct OpenSetParams {
  float eps = 0;           // DBSCAN radius in the reduced space (model.unknown_eps), > 0
  int min_pts = 5;         // DBSCAN min_pts, the face itself included (model.min_faces), >= 1
  int dims = 0;            // reduced dimension k
  uint64_t model_key = 0;  // identifies the model (its store hash)
};

OpenSetParams open_set_params(const FittedModel& model);

struct ProposedIdentity {
  int id = 0;        // 1, 2, ... in order of creation
  std::string key;   // "new-<id>"
  std::string name;  // user-chosen; empty until relabelled
  const std::string& display() const { return name.empty() ? key : name; }
};

class UnknownTracker {
 public:
  // In memory only when sidecar is empty; otherwise takes the sidecar's lock and loads it when it
  // exists. Throws std::invalid_argument for bad params, LockedError when another tracker (a
  // watch) has the sidecar, std::runtime_error (with the path) for an unreadable or damaged
  // sidecar or one made for another model.
  explicit UnknownTracker(const OpenSetParams& params, std::filesystem::path sidecar = {});
  ~UnknownTracker();
  UnknownTracker(const UnknownTracker&) = delete;
  UnknownTracker& operator=(const UnknownTracker&) = delete;

  static std::filesystem::path sidecar_for(const std::filesystem::path& model_path);

  // Adds one unknown face (dims floats). Returns the display name of the identity it belongs to
  // after this step, or nullopt while it is not part of one.
  std::optional<std::string> add(const float* vec, const std::string& path, int face = 0);

  size_t size() const { return paths_.size(); }
  int identity_of(size_t i) const { return assigned_.at(i); }  // 0 = none
  const std::vector<ProposedIdentity>& identities() const { return identities_; }
  const OpenSetParams& params() const { return params_; }

  // Picks up names written to the sidecar by `relabel` since we last read or wrote it.
  // Returns true when a name changed. A cheap stat when nothing changed.
  bool refresh_names();
  // Writes the sidecar when something changed (no-op in memory-only mode).
  void save();
  bool dirty() const { return dirty_; }

 private:
  void load();
  std::optional<std::string> display_of(int id) const;

  OpenSetParams params_;
  std::filesystem::path sidecar_;
  std::unique_ptr<FileLock> owner_;  // held while this tracker lives (sidecar mode)
  RowMatrixF vectors_;               // n × dims, grown by doubling
  std::vector<std::string> paths_;
  std::vector<int> faces_;
  std::vector<int> assigned_;  // identity id per unknown, 0 = none
  std::vector<ProposedIdentity> identities_;
  int next_id_ = 1;
  bool dirty_ = false;
  int64_t seen_mtime_ns_ = -1, seen_size_ = -1;  // sidecar as last read or written
};

// Names the identity `which` (its key "new-K" or its current name) in the sidecar. Throws
// std::runtime_error when the sidecar is missing/damaged, the identity unknown, or the name
// empty or already used by another identity. Returns the identity's key.
std::string relabel_identity(const std::filesystem::path& sidecar, const std::string& which, const std::string& name);

}  // namespace lumaflow
