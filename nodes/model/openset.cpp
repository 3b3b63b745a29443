#include "nodes/model/openset.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "nodes/analysis/dbscan.hpp"
#include "nodes/core/atomic_file.hpp"
#include "nodes/core/checksum.hpp"
#include "nodes/model/model.hpp"

namespace lumaflow {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kFormat = "lumaflow-identities";
constexpr int kVersion = 2;  // 2: with "checksum"; 1 (no checksum) is still read

// XXH3-64 of the canonical text of the content without its "checksum" field (nlohmann::json
// keeps object keys sorted and prints numbers the same way each time, so a parse and a dump
// give back the same text).
std::string content_checksum(json j) {
  j.erase("checksum");
  return hex64(xxh3_64(j.dump()));
}

// Writes the sidecar atomically (temp, fsync, rename, fsync folder) with its checksum.
void write_sidecar(const fs::path& p, json j) {
  j["version"] = kVersion;
  j["checksum"] = content_checksum(j);
  write_file_atomic(p, j.dump() + "\n");
}

// The short lock every writer of the sidecar (a watch saving, `relabel`) holds around its
// read-modify-write, so neither loses the other's change. Waits up to 5 s for another writer.
std::unique_ptr<FileLock> lock_for_writing(const fs::path& sidecar) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    try {
      return std::make_unique<FileLock>(fs::path(sidecar.string() + ".write"), "write " + sidecar.string());
    } catch (const LockedError&) {
      if (std::chrono::steady_clock::now() >= deadline) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

std::string key_of(int id) { return "new-" + std::to_string(id); }

struct Stamp {
  int64_t mtime_ns = -1, size = -1;
};

Stamp stamp_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return {};
  return {static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, static_cast<int64_t>(st.st_size)};
}

json read_sidecar(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error(p.string() + ": cannot open identities file");
  json j;
  try {
    j = json::parse(in);
  } catch (const std::exception& e) {
    throw std::runtime_error(p.string() + ": damaged identities file: " + e.what());
  }
  if (!j.is_object() || j.value("format", "") != kFormat)
    throw std::runtime_error(p.string() + ": not a lumaflow identities file");
  const int version = j.contains("version") && j["version"].is_number_integer() ? j["version"].get<int>() : 0;
  if (version != 1 && version != kVersion)
    throw std::runtime_error(p.string() + ": identities file version " + std::to_string(version) +
                             " is not supported (expected 1 or " + std::to_string(kVersion) + ")");
  if (version >= 2) {
    if (!j.contains("checksum") || !j["checksum"].is_string())
      throw std::runtime_error(p.string() + ": damaged identities file: no checksum");
    const std::string want = j["checksum"].get<std::string>();
    if (content_checksum(j) != want)
      throw std::runtime_error(p.string() + ": damaged identities file: its content does not match its checksum");
  }
  return j;
}

}  // namespace

OpenSetParams open_set_params(const FittedModel& model) {
  OpenSetParams p;
  p.eps = model.unknown_eps;
  p.min_pts = model.min_faces;
  p.dims = model.pca.size();
  p.model_key = model.store_hash;
  return p;
}

UnknownTracker::UnknownTracker(const OpenSetParams& params, fs::path sidecar)
    : params_(params), sidecar_(std::move(sidecar)) {
  if (!(params_.eps > 0) || !std::isfinite(params_.eps))
    throw std::invalid_argument("open set: eps must be a positive number (the model's unknown_eps)");
  if (params_.min_pts < 1) throw std::invalid_argument("open set: min_pts must be >= 1");
  if (params_.dims < 1) throw std::invalid_argument("open set: the reduced dimension must be >= 1");
  vectors_.resize(0, params_.dims);
  if (sidecar_.empty()) return;
  owner_ = std::make_unique<FileLock>(sidecar_, "propose identities with it (one watch per model)");
  std::error_code ec;
  if (fs::exists(sidecar_, ec)) load();
}

fs::path UnknownTracker::sidecar_for(const fs::path& model_path) {
  return fs::path(model_path.string() + ".identities.json");
}

void UnknownTracker::load() {
  const Stamp st = stamp_of(sidecar_);
  const json j = read_sidecar(sidecar_);
  const std::string where = sidecar_.string();
  try {
    const json& m = j.at("model");
    const bool same = m.at("store_hash").get<std::string>() == hex64(params_.model_key) &&
                      m.at("dims").get<int>() == params_.dims && m.at("eps").get<float>() == params_.eps &&
                      m.at("min_pts").get<int>() == params_.min_pts;
    if (!same)
      throw std::runtime_error(where + ": made for another model (" + m.dump() +
                               "); remove it or use the model it was made for");
    next_id_ = j.at("next_id").get<int>();
    std::map<int, size_t> index;
    for (const auto& e : j.at("identities")) {
      ProposedIdentity id;
      id.id = e.at("id").get<int>();
      id.key = e.at("key").get<std::string>();
      if (!e.at("name").is_null()) id.name = e.at("name").get<std::string>();
      if (id.id < 1 || id.id >= next_id_ || index.count(id.id)) throw std::runtime_error("bad identity id");
      index[id.id] = identities_.size();
      identities_.push_back(std::move(id));
    }
    const json& u = j.at("unknowns");
    vectors_.resize(static_cast<Eigen::Index>(u.size()), params_.dims);
    for (const auto& e : u) {
      const json& v = e.at("vector");
      if (v.size() != static_cast<size_t>(params_.dims)) throw std::runtime_error("vector of the wrong length");
      const Eigen::Index r = static_cast<Eigen::Index>(paths_.size());
      for (int c = 0; c < params_.dims; ++c) vectors_(r, c) = v[static_cast<size_t>(c)].get<float>();
      paths_.push_back(e.at("path").get<std::string>());
      faces_.push_back(e.value("face", 0));
      const int id = e.at("identity").is_null() ? 0 : e.at("identity").get<int>();
      if (id != 0 && !index.count(id)) throw std::runtime_error("unknown identity " + std::to_string(id));
      assigned_.push_back(id);
    }
  } catch (const json::exception& e) {
    throw std::runtime_error(where + ": damaged identities file: " + e.what());
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).rfind(where, 0) == 0) throw;
    throw std::runtime_error(where + ": damaged identities file: " + e.what());
  }
  seen_mtime_ns_ = st.mtime_ns;
  seen_size_ = st.size;
}

std::optional<std::string> UnknownTracker::display_of(int id) const {
  for (const auto& i : identities_)
    if (i.id == id) return i.display();
  return std::nullopt;
}

std::optional<std::string> UnknownTracker::add(const float* vec, const std::string& path, int face) {
  const Eigen::Index n = static_cast<Eigen::Index>(paths_.size());
  if (vectors_.rows() <= n) {
    RowMatrixF grown(std::max<Eigen::Index>(16, 2 * n), params_.dims);
    grown.topRows(n) = vectors_.topRows(n);
    vectors_.swap(grown);
  }
  for (int c = 0; c < params_.dims; ++c) vectors_(n, c) = vec[c];
  paths_.push_back(path);
  faces_.push_back(face);
  assigned_.push_back(0);
  dirty_ = true;

  // Exact distances to the unknowns so far (double, like DBSCAN's decisions near eps).
  const double eps = decimal_value(params_.eps);
  const Eigen::VectorXd v = vectors_.row(n).cast<double>().transpose();
  int neighbours = 0;
  double best = std::numeric_limits<double>::infinity();
  for (Eigen::Index j = 0; j < n; ++j) {
    const double d = (vectors_.row(j).cast<double>().transpose() - v).norm();
    if (d > eps) continue;
    ++neighbours;
    if (assigned_[static_cast<size_t>(j)] != 0 && d < best) {
      best = d;
      assigned_[static_cast<size_t>(n)] = assigned_[static_cast<size_t>(j)];
    }
  }
  // A face with no neighbour changes no neighbourhood but its own: DBSCAN would find nothing new.
  if (neighbours > 0 || params_.min_pts <= 1) {
    DbscanOptions o;
    o.eps = params_.eps;
    o.min_pts = params_.min_pts;
    o.normalize = false;
    o.threads = 1;
    const Labels lab = dbscan(vectors_.topRows(n + 1), o);
    int clusters = 0;
    for (int l : lab) clusters = std::max(clusters, l + 1);
    std::vector<int> owner(static_cast<size_t>(clusters), 0);  // oldest identity in each cluster
    for (size_t i = 0; i < lab.size(); ++i) {
      const int a = assigned_[i];
      if (lab[i] < 0 || a == 0) continue;
      int& o2 = owner[static_cast<size_t>(lab[i])];
      if (o2 == 0 || a < o2) o2 = a;
    }
    for (size_t c = 0; c < owner.size(); ++c)
      if (owner[c] == 0) {
        owner[c] = next_id_++;
        identities_.push_back({owner[c], key_of(owner[c]), {}});
      }
    for (size_t i = 0; i < lab.size(); ++i)
      if (lab[i] >= 0 && assigned_[i] == 0) assigned_[i] = owner[static_cast<size_t>(lab[i])];
  }
  const int id = assigned_[static_cast<size_t>(n)];
  return id ? display_of(id) : std::nullopt;
}

bool UnknownTracker::refresh_names() {
  if (sidecar_.empty()) return false;
  const Stamp st = stamp_of(sidecar_);
  if (st.mtime_ns < 0 || (st.mtime_ns == seen_mtime_ns_ && st.size == seen_size_)) return false;
  json j;
  try {
    j = read_sidecar(sidecar_);
  } catch (const std::exception&) {
    return false;  // being replaced or damaged by someone else: keep what we have
  }
  seen_mtime_ns_ = st.mtime_ns;
  seen_size_ = st.size;
  bool changed = false;
  if (!j.contains("identities") || !j["identities"].is_array()) return false;
  for (const auto& e : j["identities"]) {
    if (!e.is_object() || !e.contains("id") || !e["id"].is_number_integer()) continue;
    const int id = e["id"].get<int>();
    const std::string name = e.contains("name") && e["name"].is_string() ? e["name"].get<std::string>() : "";
    for (auto& i : identities_)
      if (i.id == id && i.name != name) {
        i.name = name;
        changed = true;
      }
  }
  return changed;
}

UnknownTracker::~UnknownTracker() = default;

void UnknownTracker::save() {
  if (sidecar_.empty()) return;
  const auto write_lock = lock_for_writing(sidecar_);
  refresh_names();  // keep a name given by `relabel` while we were running
  if (!dirty_) return;
  json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["model"] = {{"store_hash", hex64(params_.model_key)},
                {"dims", params_.dims},
                {"eps", params_.eps},
                {"min_pts", params_.min_pts}};
  j["next_id"] = next_id_;
  json ids = json::array();
  for (const auto& i : identities_)
    ids.push_back({{"id", i.id}, {"key", i.key}, {"name", i.name.empty() ? json(nullptr) : json(i.name)}});
  j["identities"] = std::move(ids);
  json u = json::array();
  for (size_t r = 0; r < paths_.size(); ++r) {
    json v = json::array();
    for (int c = 0; c < params_.dims; ++c) v.push_back(vectors_(static_cast<Eigen::Index>(r), c));
    u.push_back({{"path", paths_[r]},
                 {"face", faces_[r]},
                 {"identity", assigned_[r] ? json(assigned_[r]) : json(nullptr)},
                 {"vector", std::move(v)}});
  }
  j["unknowns"] = std::move(u);
  write_sidecar(sidecar_, std::move(j));
  const Stamp st = stamp_of(sidecar_);
  seen_mtime_ns_ = st.mtime_ns;
  seen_size_ = st.size;
  dirty_ = false;
}

std::string relabel_identity(const fs::path& sidecar, const std::string& which, const std::string& name) {
  std::error_code ec;
  if (!fs::exists(sidecar, ec))
    throw std::runtime_error(sidecar.string() +
                             ": no proposed identities yet (run `lumaflow watch` with this model first)");
  if (name.empty()) throw std::runtime_error("the new name must not be empty");
  const auto write_lock = lock_for_writing(sidecar);
  json j = read_sidecar(sidecar);
  if (!j.contains("identities") || !j["identities"].is_array())
    throw std::runtime_error(sidecar.string() + ": damaged identities file: no identities");
  json* target = nullptr;
  for (auto& e : j["identities"]) {
    const std::string key = e.value("key", "");
    const std::string cur = e.contains("name") && e["name"].is_string() ? e["name"].get<std::string>() : "";
    if (key == which || (!cur.empty() && cur == which)) target = &e;
  }
  if (!target) {
    std::string known;
    for (const auto& e : j["identities"]) known += (known.empty() ? "" : ", ") + e.value("key", std::string("?"));
    throw std::runtime_error("no proposed identity '" + which + "' in " + sidecar.string() +
                             (known.empty() ? " (none proposed yet)" : " (have: " + known + ")"));
  }
  for (const auto& e : j["identities"]) {
    if (&e == target) continue;
    const std::string cur = e.contains("name") && e["name"].is_string() ? e["name"].get<std::string>() : "";
    if (e.value("key", "") == name || cur == name)
      throw std::runtime_error("the name '" + name + "' is already used by " + e.value("key", std::string("?")));
  }
  (*target)["name"] = name;
  const std::string key = (*target)["key"].get<std::string>();
  write_sidecar(sidecar, std::move(j));
  return key;
}

}  // namespace lumaflow
