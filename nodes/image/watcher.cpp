#include "nodes/image/watcher.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "nodes/image/scan.hpp"

namespace lumaflow {
namespace {

namespace fs = std::filesystem;

bool ends_with_ci(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    const char a = s[s.size() - suffix.size() + i];
    const char lower = a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a;
    if (lower != suffix[i]) return false;
  }
  return true;
}

// What the watch asks inotify for on every folder. IN_MODIFY only serves the settling of
// files found by listing a new folder; IN_CREATE only serves new sub-folders.
constexpr uint32_t kMask =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_MODIFY | IN_ONLYDIR;

}  // namespace

// A read lease is refused (EAGAIN) exactly when a writer exists. Leases need the file to be ours
// (or CAP_LEASE) and a local file system; when they are not available the answer is "no" and the
// size/mtime settling alone decides.
bool is_open_for_writing(const fs::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return false;
  bool busy = false;
  if (::fcntl(fd, F_SETLEASE, F_RDLCK) == 0)
    ::fcntl(fd, F_SETLEASE, F_UNLCK);
  else
    busy = errno == EAGAIN;
  ::close(fd);
  return busy;
}

bool is_temporary_name(const std::string& n) {
  if (n.empty() || n[0] == '.') return true;  // dot-files, ".#lock" files of editors
  if (n.back() == '~') return true;
  return ends_with_ci(n, ".tmp") || ends_with_ci(n, ".part") || ends_with_ci(n, ".swp");
}

FolderWatcher::FolderWatcher(const fs::path& root, const WatcherOptions& opt) : root_(root), opt_(opt) {
  std::error_code ec;
  if (!fs::is_directory(root_, ec)) throw std::runtime_error(root_.string() + ": not a folder");
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) throw std::runtime_error(root_.string() + ": cannot start inotify: " + std::strerror(errno));
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    ::close(inotify_fd_);
    throw std::runtime_error(std::string("cannot create an eventfd: ") + std::strerror(errno));
  }
  // The root itself must be watchable: without it there is nothing to do.
  const int root_wd = ::inotify_add_watch(inotify_fd_, root_.c_str(), kMask);
  if (root_wd < 0) {
    const int e = errno;
    ::close(inotify_fd_);
    ::close(wake_fd_);
    throw std::runtime_error(root_.string() + ": cannot watch: " +
                             (e == ENOSPC ? std::string("inotify watch limit reached (fs.inotify.max_user_watches)")
                                          : std::string(std::strerror(e))));
  }
  dirs_[root_wd] = "";
  // Watches first, listing second: a file finished in between is seen by both, and listed_
  // suppresses the repeat.
  std::vector<std::string> listed;
  add_tree("", opt_.existing ? Found::list : Found::ignore, &listed);
  std::sort(listed.begin(), listed.end(), natural_less);
  for (const auto& rel : listed) {
    if (is_open_for_writing(root_ / rel)) {  // still being written: wait for its close
      settling_[rel] = {std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.settle_ms), stamp_of(rel)};
      continue;
    }
    listed_[rel] = stamp_of(rel);
    report(rel);
  }
}

FolderWatcher::~FolderWatcher() {
  ::close(inotify_fd_);
  ::close(wake_fd_);
}

void FolderWatcher::stop() {
  stopped_.store(true);
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void FolderWatcher::add_stop_fd(int fd) { stop_fds_.push_back(fd); }

std::string FolderWatcher::join(const std::string& dir_rel, const std::string& name) const {
  return dir_rel.empty() ? name : dir_rel + "/" + name;
}

bool FolderWatcher::wanted_file(const std::string& name) const {
  return !is_temporary_name(name) && has_image_extension(fs::path(name));
}

FolderWatcher::Stamp FolderWatcher::stamp_of(const std::string& rel) const {
  struct stat st {};
  if (::stat((root_ / rel).c_str(), &st) != 0) return {};
  return {static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, static_cast<int64_t>(st.st_size)};
}

bool FolderWatcher::add_watch(const fs::path& dir, const std::string& rel) {
  const int wd = ::inotify_add_watch(inotify_fd_, dir.c_str(), kMask);
  if (wd < 0) {
    const int e = errno;
    if (e == ENOENT || e == ENOTDIR) return false;  // gone again before we got to it
    report_error(dir, e == ENOSPC ? "cannot watch: inotify watch limit reached (raise fs.inotify.max_user_watches)"
                                  : std::string("cannot watch: ") + std::strerror(e));
    return false;
  }
  dirs_[wd] = rel;
  return true;
}

void FolderWatcher::add_tree(const std::string& rel, Found found, std::vector<std::string>* listed) {
  const fs::path dir = rel.empty() ? root_ : root_ / rel;
  if (!add_watch(dir, rel)) return;
  std::vector<std::pair<std::string, bool>> children;  // name, is folder
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code e2;
    if (it->is_symlink(e2) && it->is_directory(e2)) continue;  // no loops through linked folders
    if (it->is_directory(e2))
      children.emplace_back(name, true);
    else if (it->is_regular_file(e2) && wanted_file(name))
      children.emplace_back(name, false);
  }
  if (ec) report_error(dir, "cannot list: " + ec.message());
  std::sort(children.begin(), children.end(),
            [](const auto& a, const auto& b) { return natural_less(a.first, b.first); });
  for (const auto& [name, is_dir] : children) {
    const std::string child = join(rel, name);
    if (is_dir) {
      add_tree(child, found, listed);
      continue;
    }
    switch (found) {
      case Found::ignore: break;
      case Found::list:
        if (listed) listed->push_back(child);
        break;
      case Found::report:
        if (!is_open_for_writing(root_ / child)) {
          report(child);
          break;
        }
        [[fallthrough]];  // moved in while still open for writing: wait like a new folder's file
      case Found::settle:
        if (!reported_.count(child) && !settling_.count(child))
          settling_[child] = {std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.settle_ms),
                              stamp_of(child)};
        break;
    }
  }
}

void FolderWatcher::remove_tree(const std::string& rel) {
  const std::string prefix = rel + "/";
  for (auto it = dirs_.begin(); it != dirs_.end();) {
    if (it->second == rel || it->second.compare(0, prefix.size(), prefix) == 0) {
      ::inotify_rm_watch(inotify_fd_, it->first);
      it = dirs_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = settling_.lower_bound(prefix);
       it != settling_.end() && it->first.compare(0, prefix.size(), prefix) == 0;)
    it = settling_.erase(it);
}

void FolderWatcher::report(const std::string& rel) {
  reported_.insert(rel);
  if (!is_valid_utf8(rel)) {
    report_error(root_ / rel, "file name is not valid UTF-8");
    return;
  }
  ready_.push_back(WatchEvent{root_ / rel, rel, {}});
}

void FolderWatcher::report_error(const fs::path& p, const std::string& what) {
  std::string rel;
  std::error_code ec;
  const fs::path r = fs::relative(p, root_, ec);
  if (!ec) rel = r.generic_string();
  ready_.push_back(WatchEvent{p, rel, what});
}

void FolderWatcher::check_settling() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = settling_.begin(); it != settling_.end();) {
    if (it->second.due > now) {
      ++it;
      continue;
    }
    const Stamp s = stamp_of(it->first);
    if (s.size < 0) {
      it = settling_.erase(it);  // removed meanwhile
    } else if (s == it->second.stamp && !is_open_for_writing(root_ / it->first)) {
      report(it->first);
      it = settling_.erase(it);
    } else {
      it->second = {now + std::chrono::milliseconds(opt_.settle_ms), s};
      ++it;
    }
  }
}

void FolderWatcher::relist() {
  // Events were lost: watch every folder again (inotify returns the existing watch for a
  // folder already watched) and let every unreported file settle.
  std::vector<std::string> none;
  add_tree("", Found::settle, &none);
}

void FolderWatcher::handle(int wd, uint32_t mask, const std::string& name) {
  if (mask & IN_Q_OVERFLOW) {
    report_error(root_, "inotify event queue overflowed; re-listing the folder");
    relist();
    return;
  }
  const auto d = dirs_.find(wd);
  if (d == dirs_.end()) return;
  if (mask & IN_IGNORED) {
    dirs_.erase(d);
    return;
  }
  if (name.empty()) return;  // an event on the folder itself
  const std::string rel = join(d->second, name);
  if (mask & IN_ISDIR) {
    if (name[0] == '.') return;
    if (mask & IN_CREATE)
      add_tree(rel, Found::settle, nullptr);
    else if (mask & IN_MOVED_TO)
      add_tree(rel, Found::report, nullptr);
    else if (mask & (IN_MOVED_FROM | IN_DELETE))
      remove_tree(rel);
    return;
  }
  if (!wanted_file(name)) return;
  if (mask & IN_MODIFY) {
    settling_.erase(rel);  // being written: its IN_CLOSE_WRITE will report it
  } else if (mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
    settling_.erase(rel);
    const auto l = listed_.find(rel);
    if (l != listed_.end()) {
      const bool same = l->second == stamp_of(rel);
      listed_.erase(l);
      if (same) return;
    }
    report(rel);
  } else if (mask & (IN_DELETE | IN_MOVED_FROM)) {
    settling_.erase(rel);
  }
}

void FolderWatcher::read_events() {
  alignas(inotify_event) char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      report_error(root_, std::string("cannot read inotify events: ") + std::strerror(errno));
      return;
    }
    if (n == 0) return;
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      handle(ev->wd, ev->mask, ev->len ? std::string(ev->name) : std::string());
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
}

std::optional<WatchEvent> FolderWatcher::poll(int timeout_ms) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
  std::vector<pollfd> fds;
  fds.push_back({inotify_fd_, POLLIN, 0});
  fds.push_back({wake_fd_, POLLIN, 0});
  for (int fd : stop_fds_) fds.push_back({fd, POLLIN, 0});
  bool waited = false;
  for (;;) {
    if (stopped_.load()) return std::nullopt;
    check_settling();
    if (!ready_.empty()) {
      WatchEvent e = std::move(ready_.front());
      ready_.pop_front();
      return e;
    }
    const auto now = clock::now();
    auto ceil_ms = [](clock::duration d) {
      return std::max<long>(0, std::chrono::ceil<std::chrono::milliseconds>(d).count());
    };
    long wait = -1;
    if (timeout_ms >= 0) {
      if (waited && now >= deadline) return std::nullopt;
      wait = ceil_ms(deadline - now);
    }
    for (const auto& [rel, s] : settling_)
      wait = wait < 0 ? ceil_ms(s.due - now) : std::min(wait, ceil_ms(s.due - now));
    for (auto& p : fds) p.revents = 0;
    const int r = ::poll(fds.data(), fds.size(), static_cast<int>(wait));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("poll failed while watching ") + root_.string() + ": " +
                               std::strerror(errno));
    }
    for (size_t i = 1; i < fds.size(); ++i)
      if (fds[i].revents) {
        stopped_.store(true);
        return std::nullopt;
      }
    waited = true;
    if (fds[0].revents) read_events();
  }
}

}  // namespace lumaflow
