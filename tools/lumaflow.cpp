// lumaflow: command-line entry point. Each sub-command lives in tools/cmd_<name>.cpp and
// registers itself here; errors become one line on stderr and a non-zero exit code.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <opencv2/core/utils/logger.hpp>

#include "tools/commands.hpp"

int main(int argc, char** argv) {
  // Decoder warnings would interleave with our one-line reports; errors are ours to report.
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  CLI::App app{"lumaflow: face images to pixel embeddings, clustering, charts and live classification"};
  app.set_version_flag("--version", std::string(LUMAFLOW_VERSION));
  app.require_subcommand(1);
  lumaflow::cli::Registry registry;
  lumaflow::cli::register_all(app, registry);
  // The prototype's two-letter flags (-id -is -os -ou) are not valid short options for CLI11.
  std::vector<std::string> args(argv + 1, argv + argc);
  for (auto& a : args) {
    if (a == "-id")
      a = "--input-dir";
    else if (a == "-is")
      a = "--size";
    else if (a == "-ou")
      a = "--output";
    else if (a == "-os")
      a = "--size";
  }
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [sub, run] : registry)
      if (sub->parsed()) return run();
  } catch (const std::exception& e) {
    std::cerr << "lumaflow: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
