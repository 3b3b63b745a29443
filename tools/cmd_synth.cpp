// lumaflow synth: the embedded default data set — procedural cartoon faces, deterministic.
#include <iostream>

#include "nodes/synth/synth.hpp"
#include "tools/cli_common.hpp"
#include "tools/commands.hpp"

namespace lumaflow::cli {
namespace {

struct SynthArgs {
  std::string out;
  SynthOptions opt;
  int threads = 0;
};

int run_synth(SynthArgs a) {
  const SynthSummary s = write_synthetic_set(a.out, a.opt, a.threads);
  std::cout << "wrote " << s.files << " images of " << s.labels.size() << " identities to " << a.out << "\n";
  return 0;
}

}  // namespace

void register_synth_command(CLI::App& app, Registry& reg) {
  auto a = std::make_shared<SynthArgs>();
  a->opt.variation = 0.5;  // leave-one-out 1-NN ≈ 0.5 in pixel space: loose clusters, like real photos
  auto* c = app.add_subcommand("synth",
                               "Draw a procedural face set (OUT/<person>/<image>.jpg|png), deterministic for a seed");
  c->add_option("OUT", a->out, "Output folder")->required();
  c->add_option("--identities", a->opt.identities, "Number of people")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  c->add_option("--per", a->opt.per, "Images per person")->check(CLI::Range(1, 1000000))->capture_default_str();
  c->add_option("--size", a->opt.size, "Image side in pixels (with --scenes: frame width, height = 9/16 of it)")
      ->check(CLI::Range(16, 8192))
      ->capture_default_str();
  c->add_option("--seed", a->opt.seed, "Random seed")->capture_default_str();
  c->add_option("--variation", a->opt.variation,
                "Amount of per-image variation (shift, rotation, scale, lighting, noise): 0 none, 1 strong")
      ->check(CLI::Range(0.0, 2.0))
      ->capture_default_str();
  c->add_option("--jpeg-quality", a->opt.jpeg_quality, "JPEG quality")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  c->add_flag("--scenes", a->opt.scenes, "Write full frames with several faces instead of face crops");
  c->add_option("--threads", a->threads, "Worker threads (0 = all cores)")
      ->check(thread_count())
      ->capture_default_str();
  reg.emplace_back(c, [a] { return run_synth(*a); });
}

}  // namespace lumaflow::cli
