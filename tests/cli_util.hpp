// Runs the lumaflow binary for end-to-end tests.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

namespace lumaflow::test {

struct CliResult {
  int code = -1;
  std::string out;  // stdout (stderr goes to err)
  std::string err;
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// In a forked child: replaces the process with `lumaflow ARGS` (exit 127 when exec fails).
[[noreturn]] inline void exec_cli(const std::vector<std::string>& args) {
  std::vector<std::string> a{LUMAFLOW_CLI};
  a.insert(a.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : a) argv.push_back(s.data());
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

// Runs `lumaflow ARGS` (ARGS already shell-quoted where needed).
inline CliResult run_cli(const std::string& args, const std::string& env = "") {
  static int counter = 0;
  const std::string err_file = "/tmp/lumaflow-cli-err-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  const std::string cmd = env + " " + shell_quote(LUMAFLOW_CLI) + " " + args + " 2>" + err_file;
  CliResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (FILE* e = std::fopen(err_file.c_str(), "r")) {
    while ((n = std::fread(buf.data(), 1, buf.size(), e)) > 0) r.err.append(buf.data(), n);
    std::fclose(e);
  }
  std::remove(err_file.c_str());
  return r;
}

}  // namespace lumaflow::test
