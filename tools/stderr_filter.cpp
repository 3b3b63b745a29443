#include "tools/stderr_filter.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

namespace lumaflow::cli {

bool is_library_chatter(std::string_view line) {
  static constexpr std::string_view kPrefixes[] = {
      "libpng error: ",
      "libpng warning: ",
      "Corrupt JPEG data: ",
      "Premature end of JPEG file",
      "Invalid SOS parameters",
      "Unsupported marker type",
      "Warning: unknown JFIF",
      "Bogus marker length",
      "imdecode_(",
      "[ WARN:",
      "[ERROR:",
      "TIFFReadDirectory: ",
      "TIFFFetchNormalTag: ",
      "TIFFReadDirectoryCheckOrder: ",
  };
  for (std::string_view p : kPrefixes)
    if (line.substr(0, p.size()) == p) return true;
  return false;
}

namespace {

class Filter {
 public:
  bool install() {
    int fds[2];
    if (::pipe(fds) != 0) return false;
    real_ = ::dup(STDERR_FILENO);
    if (real_ < 0 || ::dup2(fds[1], STDERR_FILENO) < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      return false;
    }
    ::close(fds[1]);
    read_ = fds[0];
    thread_ = std::thread([this] { forward(); });
    return true;
  }

  // Restores fd 2 (the pipe's last write end closes) and waits for the thread to drain it.
  void finish() {
    if (!thread_.joinable()) return;
    std::cerr.flush();
    std::fflush(stderr);
    ::dup2(real_, STDERR_FILENO);
    thread_.join();
    ::close(read_);
  }

 private:
  void write_real(const char* p, size_t n) {
    while (n > 0) {
      const ssize_t w = ::write(real_, p, n);
      if (w <= 0) return;
      p += w;
      n -= static_cast<size_t>(w);
    }
  }

  void forward() {
    std::string pending;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(read_, buf, sizeof buf);
      if (n <= 0) break;
      pending.append(buf, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
        const std::string_view line(pending.data() + start, nl - start);
        if (!is_library_chatter(line)) write_real(pending.data() + start, nl + 1 - start);
      }
      pending.erase(0, start);
      // A partial line that cannot be library chatter (a progress bar) goes out now.
      if (!pending.empty() && !is_library_chatter(pending) && pending.find_first_of("\r") != std::string::npos) {
        write_real(pending.data(), pending.size());
        pending.clear();
      }
    }
    if (!pending.empty() && !is_library_chatter(pending)) write_real(pending.data(), pending.size());
  }

  int real_ = -1, read_ = -1;
  std::thread thread_;
};

Filter& the_filter() {
  static Filter f;
  return f;
}

bool initial_tty() {
  static const bool tty = ::isatty(STDERR_FILENO) != 0;
  return tty;
}

}  // namespace

bool stderr_is_terminal() { return initial_tty(); }

void filter_library_chatter() {
  initial_tty();  // before fd 2 becomes a pipe
#if defined(__SANITIZE_ADDRESS__)
  return;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return;
#endif
#endif
  static bool done = false;
  if (done) return;
  done = true;
  if (const char* raw = std::getenv("LUMAFLOW_RAW_STDERR"); raw && std::string_view(raw) == "1") return;
  if (the_filter().install()) std::atexit([] { the_filter().finish(); });
}

}  // namespace lumaflow::cli
