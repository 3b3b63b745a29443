// lumaflow repair: make a damaged (or format-1) store whole again without losing what is intact.
#include <iostream>

#include "nodes/store/store.hpp"
#include "tools/commands.hpp"

namespace lumaflow::cli {
namespace {

int run_repair(const std::string& path) {
  // The lock keeps a running `watch` from appending while the file is swapped.
  const FileLock lock(path, "repair it");
  const auto r = repair_store(path);
  if (!r) {
    std::cout << path << ": intact, nothing to repair\n";
    return 0;
  }
  std::cout << path << ": repaired: " << r->summary() << "\n";
  return 0;
}

}  // namespace

void register_repair_command(CLI::App& app, Registry& reg) {
  auto path = std::make_shared<std::string>();
  auto* c = app.add_subcommand("repair",
                               "Rewrite a damaged store with every intact record; the original is kept beside it "
                               "(STORE.damaged-<time>)");
  c->add_option("STORE", *path, "Store file")->required()->check(CLI::ExistingFile);
  reg.emplace_back(c, [path] { return run_repair(*path); });
}

}  // namespace lumaflow::cli
