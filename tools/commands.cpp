#include "tools/commands.hpp"

namespace lumaflow::cli {

void register_all(CLI::App& app, Registry& registry) {
  (void)app;
  (void)registry;
}

}  // namespace lumaflow::cli
