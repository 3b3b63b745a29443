#include "tools/commands.hpp"

namespace lumaflow::cli {

void register_store_commands(CLI::App& app, Registry& registry);
void register_synth_command(CLI::App& app, Registry& registry);
void register_analyze_command(CLI::App& app, Registry& registry);
void register_fit_commands(CLI::App& app, Registry& registry);
void register_classify_command(CLI::App& app, Registry& registry);
void register_watch_commands(CLI::App& app, Registry& registry);
void register_evaluate_command(CLI::App& app, Registry& registry);
void register_repair_command(CLI::App& app, Registry& registry);
void register_broker_commands(CLI::App& app, Registry& registry);

void register_all(CLI::App& app, Registry& registry) {
  register_store_commands(app, registry);
  register_synth_command(app, registry);
  register_analyze_command(app, registry);
  register_fit_commands(app, registry);
  register_classify_command(app, registry);
  register_watch_commands(app, registry);
  register_evaluate_command(app, registry);
  register_repair_command(app, registry);
  register_broker_commands(app, registry);
}

}  // namespace lumaflow::cli
