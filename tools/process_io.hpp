// What long-running commands (watch, worker, collect) share with the process around them:
//  - StopSignals: SIGINT/SIGTERM write a byte to a self-pipe (the one piece of process-wide
//    state a signal handler forces on us); a loop polls read_fd() or stop_requested(). SIGPIPE
//    is ignored, so a closed output pipe stops through a write error instead of killing the
//    process unflushed. The previous handlers are restored when it goes.
//  - AnswerStream: answer lines, each written whole in one write(); a half last line left by a
//    kill -9 is cut off at start (with a warning), and a failed write cuts a regular file back to
//    its last full line.
//  - AnswerOutput: --out FILE (appended) or standard output.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>

namespace lumaflow::cli {

// The one piece of process-wide state a signal handler forces on us: where to write.
inline std::atomic<int> g_signal_pipe{-1};

extern "C" inline void on_stop_signal(int) {
  const int saved = errno;
  const int fd = g_signal_pipe.load();
  if (fd >= 0) {
    const char c = 's';
    [[maybe_unused]] const ssize_t n = ::write(fd, &c, 1);
  }
  errno = saved;
}

// Installs the handlers for the lifetime of a watch; restores the previous ones after.
class StopSignals {
 public:
  StopSignals() {
    if (::pipe2(fds_, O_CLOEXEC | O_NONBLOCK) != 0)
      throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
    g_signal_pipe.store(fds_[1]);
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
    // A closed output pipe must stop the watch through a write error, not kill it unflushed.
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    ::sigaction(SIGPIPE, &ign, &old_pipe_);
  }
  ~StopSignals() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    ::sigaction(SIGPIPE, &old_pipe_, nullptr);
    g_signal_pipe.store(-1);
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  int read_fd() const { return fds_[0]; }
  // True once a signal arrived (the byte stays in the pipe, so every poller sees it).
  bool stop_requested() const {
    pollfd p{fds_[0], POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }

 private:
  int fds_[2] = {-1, -1};
  struct sigaction old_int_ {
  }, old_term_{}, old_pipe_{};
};

// The answer stream: each line goes out whole in one write() (retried only when the kernel
// took part of it). On a write error a regular file is cut back to its last full line, so no
// half line is ever left in --out. A half line found at the end of --out when the watch starts
// (a write cut by a kill -9 or a power cut) is cut off first, with a warning.
class AnswerStream {
 public:
  AnswerStream(int fd, std::string name) : fd_(fd), name_(std::move(name)) {
    struct stat st {};
    regular_ = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
    if (!regular_) return;
    end_ = ::lseek(fd_, 0, SEEK_END);
    off_t keep = end_;
    char buf[4096];
    for (int chunks = 0; keep > 0; ++chunks) {
      if (chunks == 16) return;  // no line end in the last 64 KiB: not an answer file we cut
      const off_t from = std::max<off_t>(0, keep - static_cast<off_t>(sizeof buf));
      const ssize_t n = ::pread(fd_, buf, static_cast<size_t>(keep - from), from);
      if (n != keep - from) return;  // unreadable (write-only file): leave it as it is
      ssize_t i = n;
      while (i > 0 && buf[i - 1] != '\n') --i;
      if (i > 0) {
        keep = from + i;
        break;
      }
      keep = from;
    }
    if (keep == end_) return;
    if (::ftruncate(fd_, keep) != 0)
      throw std::runtime_error(name_ + ": cannot cut its half last line: " + std::strerror(errno));
    std::cerr << "lumaflow: warning: " << name_ << ": cut a half line of " << (end_ - keep) << " bytes left at its end"
              << std::endl;
    end_ = keep;
  }
  bool empty() const { return regular_ && end_ == 0; }
  void line(const std::string& text) {
    const std::string s = text + "\n";
    size_t off = 0;
    while (off < s.size()) {
      const ssize_t n = ::write(fd_, s.data() + off, s.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int err = n < 0 ? errno : EIO;
        if (regular_ && off > 0) {
          [[maybe_unused]] const int t = ::ftruncate(fd_, end_);
        }
        throw std::runtime_error(name_ + ": cannot write: " + std::strerror(err));
      }
      off += static_cast<size_t>(n);
    }
    if (regular_) end_ += static_cast<off_t>(s.size());
  }

 private:
  int fd_;
  std::string name_;
  bool regular_ = false;
  off_t end_ = 0;
};

// Where answer lines go: `path` (appended to, created when missing) or, when empty, standard
// output. Closed when it goes. Throws with the path when it cannot be opened.
class AnswerOutput {
 public:
  explicit AnswerOutput(const std::string& path) {
    if (path.empty()) return;
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
    name_ = path;
  }
  ~AnswerOutput() {
    if (fd_ != STDOUT_FILENO) ::close(fd_);
  }
  AnswerOutput(const AnswerOutput&) = delete;
  AnswerOutput& operator=(const AnswerOutput&) = delete;
  int fd() const { return fd_; }
  const std::string& name() const { return name_; }
  bool is_stdout() const { return fd_ == STDOUT_FILENO; }

 private:
  int fd_ = STDOUT_FILENO;
  std::string name_ = "standard output";
};

}  // namespace lumaflow::cli
