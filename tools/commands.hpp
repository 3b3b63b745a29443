// Sub-command registration for the lumaflow CLI.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <utility>
#include <vector>

namespace lumaflow::cli {

// (sub-command, action) pairs; the action runs when its sub-command was parsed.
using Registry = std::vector<std::pair<CLI::App*, std::function<int()>>>;

void register_all(CLI::App& app, Registry& registry);

}  // namespace lumaflow::cli
