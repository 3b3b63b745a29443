// lumaflow: command-line entry point. Each sub-command lives in tools/cmd_<name>.cpp and
// registers itself here; errors become one line on stderr and a non-zero exit code.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <opencv2/core/utils/logger.hpp>

#include "tools/commands.hpp"
#include "tools/stderr_filter.hpp"

// Exit codes (README): 0 done, 1 error, 2 bad command line, 3 inspect: damaged store,
// 5 analyze: partial (a stage failed; the rest was written). watch documents its own.
constexpr int kExitUsage = 2;

int main(int argc, char** argv) {
  // Decoder warnings would interleave with our one-line reports; errors are ours to report.
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  // libpng/libjpeg/OpenCV print their own unattributed lines; lumaflow's name the file.
  lumaflow::cli::filter_library_chatter();
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
  // A first word that is no command gets one line naming it (CLI11 would say "A subcommand is required").
  if (!args.empty() && !args[0].empty() && args[0][0] != '-') {
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
      known = known || sub->check_name(args[0]);
    if (!known) {
      std::cerr << "lumaflow: error: unknown command '" << args[0] << "' (lumaflow --help lists the commands)\n";
      return kExitUsage;
    }
  }
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line: what is wrong, with the option's name (CLI11 adds it).
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    std::cerr << "lumaflow: error: " << what << " (--help for usage)\n";
    return kExitUsage;
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
