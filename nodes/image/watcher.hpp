// Watcher: a Linux inotify watch of a folder tree that reports image files once they are
// complete.
//
// Input: a root folder. Output: a stream of WatchEvent (path on disk + path relative to the
// root), one per finished file, from poll(timeout) or the blocking next().
// Rules:
//  - a file is reported on IN_CLOSE_WRITE (a writer closed it) or IN_MOVED_TO (renamed in),
//    never while it is still being written (IN_CREATE / IN_MODIFY alone report nothing);
//  - the whole tree is watched; a sub-folder created (or moved in) while watching is watched
//    from then on and the files already inside it are picked up: files of a moved-in folder at
//    once, files of a freshly created folder once they have settled (no IN_MODIFY, an
//    unchanged size/mtime for `settle_ms`, and nobody holding them open for writing — checked
//    with a read lease, which the kernel refuses while a writer exists) unless their own
//    close/rename event comes first;
//  - ignored: names starting with '.' (dot-files, ".#*" lock files, dot-folders), temporary
//    names ("*.tmp", "*.part", "*~", "*.swp") and non-image extensions (has_image_extension);
//  - existing = true lists the files already there first (natural order of the relative path,
//    folder then file); a listed file whose close event then arrives unchanged is not repeated;
//  - problems (the inotify watch limit, a name that is not UTF-8, a queue overflow) are
//    reported as events with `error` set and the path concerned; after an overflow the tree is
//    re-listed and files not reported yet in this session are reported.
// stop() may be called from any thread (it writes to an eventfd) and makes poll()/next() return
// nullopt from then on; an extra "stop fd" (e.g. a signal self-pipe) does the same when it
// becomes readable. One thread calls poll()/next(). Cost: one inotify watch per folder; each
// event O(1) plus an O(folder size) listing for a new folder.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace lumaflow {

struct WatcherOptions {
  bool existing = false;  // report the files already in the tree first
  int settle_ms = 50;     // quiet time before a file found in a new folder is reported
};

struct WatchEvent {
  std::filesystem::path path;  // on disk: root / rel
  std::string rel;             // relative to the root, '/' separated
  std::string error;           // non-empty: a problem with `path`, not a file to process
  bool ok() const { return error.empty(); }
};

// Whether some process has the file open for writing (a read lease is refused exactly then).
// False when leases are not available (not our file, a network file system) or the file is gone.
bool is_open_for_writing(const std::filesystem::path& path);

// True for names the watcher never reports (dot-files, editor/download temporaries).
bool is_temporary_name(const std::string& filename);

class FolderWatcher {
 public:
  // Throws std::runtime_error (with the path) when root is not a folder or cannot be watched.
  explicit FolderWatcher(const std::filesystem::path& root, const WatcherOptions& opt = {});
  ~FolderWatcher();
  FolderWatcher(const FolderWatcher&) = delete;
  FolderWatcher& operator=(const FolderWatcher&) = delete;

  // The next event, waiting at most timeout_ms (< 0: forever). nullopt on timeout or once
  // stopped.
  std::optional<WatchEvent> poll(int timeout_ms);
  // Blocks until an event; nullopt only once stopped.
  std::optional<WatchEvent> next() { return poll(-1); }

  // Thread-safe and async-signal-safe: wakes a waiting poll(), which returns nullopt.
  void stop();
  bool stopped() const { return stopped_.load(); }
  // poll() also stops when `fd` becomes readable (not owned; not read).
  void add_stop_fd(int fd);

  const std::filesystem::path& root() const { return root_; }
  size_t watched_folders() const { return dirs_.size(); }

 private:
  struct Stamp {
    int64_t mtime_ns = 0;
    int64_t size = -1;
    bool operator==(const Stamp&) const = default;
  };
  struct Settling {
    std::chrono::steady_clock::time_point due;
    Stamp stamp;
  };

  enum class Found { ignore, list, report, settle };  // what to do with files found in a folder
  void add_tree(const std::string& rel, Found found, std::vector<std::string>* listed);
  bool add_watch(const std::filesystem::path& dir, const std::string& rel);
  void remove_tree(const std::string& rel);
  void read_events();
  void handle(int wd, uint32_t mask, const std::string& name);
  void report(const std::string& rel);
  void report_error(const std::filesystem::path& p, const std::string& what);
  void check_settling();
  void relist();
  std::string join(const std::string& dir_rel, const std::string& name) const;
  Stamp stamp_of(const std::string& rel) const;
  bool wanted_file(const std::string& name) const;

  std::filesystem::path root_;
  WatcherOptions opt_;
  int inotify_fd_ = -1;
  int wake_fd_ = -1;
  std::vector<int> stop_fds_;
  std::atomic<bool> stopped_{false};
  std::unordered_map<int, std::string> dirs_;  // watch descriptor -> folder rel ("" = root)
  std::deque<WatchEvent> ready_;
  std::map<std::string, Settling> settling_;       // files found in new folders, waiting to settle
  std::unordered_map<std::string, Stamp> listed_;  // reported by a listing; repeat only if changed
  std::set<std::string> reported_;                 // every file reported this session (for re-listing)
};

}  // namespace lumaflow
