// lumaflow watch: classify every face that arrives in a folder, as it arrives.
// lumaflow relabel: name a proposed identity ("new-1" -> "Alice").
//
// SIGINT/SIGTERM stop the watch cleanly: the handler only writes a byte to a self-pipe that the
// folder watcher polls; the graph then drains, the store is flushed and the exit code is 0.
// A write error (the store or the answer stream: disk full, ...) stops the watch with exit code 4
// after one error line on stderr (flow/watch.hpp says what the answer stream then holds).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <memory>
#include <tuple>

#include "flow/watch.hpp"
#include "nodes/core/parallel.hpp"
#include "nodes/image/faces.hpp"
#include "nodes/model/answer.hpp"
#include "nodes/model/openset.hpp"
#include "nodes/serve/live_server.hpp"
#include "tools/cli_common.hpp"
#include "tools/commands.hpp"
#include "tools/process_io.hpp"

namespace lumaflow::cli {
namespace {

// Exit code of a watch stopped by a write error (store or answer stream; disk full).
constexpr int kWriteErrorExit = 4;

struct WatchArgs {
  std::string model, dir, store, out, format = "json", annotate;
  bool existing = false;
  int threads = 0;
  std::string models;
  std::string serve;  // --serve HOST:PORT
};

// --serve: the live page's state and server, listening before the first file is watched.
struct LiveServing {
  std::unique_ptr<LiveState> state;
  std::unique_ptr<LiveServer> server;
};

LiveServing start_serving(const WatchArgs& a) {
  LiveServing live;
  if (a.serve.empty()) return live;
  ServeOptions so;
  std::tie(so.host, so.port) = parse_serve_address(a.serve);
  so.roots = {a.dir};
  if (!a.annotate.empty()) {
    std::filesystem::create_directories(a.annotate);
    so.roots.emplace_back(a.annotate);
  }
  if (!is_loopback(so.host))
    std::cerr << "lumaflow: warning: --serve " << a.serve
              << " is not a loopback address: whoever reaches it with the access token sees every face; the token is "
                 "in the address below and is printed only once"
              << std::endl;
  live.state = std::make_unique<LiveState>(500, !a.store.empty());
  live.server = std::make_unique<LiveServer>(*live.state, so);
  std::cerr << "lumaflow: serving the live page at " << live.server->url() << std::endl;
  return live;
}

int run_watch_command(const WatchArgs& a) {
  const FittedModel model = load_model(a.model);
  const EmbedOptions embed = embed_options_for(model);
  IngestOptions io;
  io.embed = embed;
  io.models_dir = a.models;
  std::unique_ptr<FaceTools> tools = make_face_tools(io);
  // A frame's faces are described in parallel: one network engine per thread, built now rather
  // than on the first frame.
  if (tools && tools->net()) tools->net()->warm(resolve_threads(a.threads));

  std::unique_ptr<UnknownTracker> tracker;
  const OpenSetParams osp = open_set_params(model);
  if (osp.eps > 0 && osp.dims > 0 && osp.min_pts >= 1)
    tracker = std::make_unique<UnknownTracker>(osp, UnknownTracker::sidecar_for(a.model));
  else
    std::cerr << "lumaflow: warning: the model has no open-set radius; unknown faces get no proposed identity\n";

  WatchOptions opt;
  opt.threads = a.threads;
  opt.store = a.store;
  opt.annotate = a.annotate;
  opt.format = a.format == "csv" ? AnswerFormat::csv : AnswerFormat::json;

  AnswerOutput out(a.out);

  StopSignals signals;
  FolderWatcher watcher(a.dir, WatcherOptions{a.existing});
  watcher.add_stop_fd(signals.read_fd());
  AnswerStream answers(out.fd(), out.name());
  if (opt.format == AnswerFormat::csv && (out.is_stdout() || answers.empty())) answers.line(answer_csv_header());
  std::cerr << "lumaflow: watching " << a.dir << " (" << watcher.watched_folders() << " folder"
            << (watcher.watched_folders() == 1 ? "" : "s") << ") with " << a.model << "; Ctrl-C to stop" << std::endl;

  const LiveServing live = start_serving(a);
  const LineSink emit = [&](const std::string& line) {
    answers.line(line);
    if (live.state) live.state->add_line(line);
  };

  WatchSummary s;
  try {
    s = run_watch(watcher, model, opt, tools.get(), tracker.get(), emit,
                  [](const std::string& msg) { std::cerr << "lumaflow: warning: " << msg << std::endl; });
  } catch (const WatchWriteError& e) {
    std::cerr << "lumaflow: error: " << e.what() << "; watch stopped (exit code " << kWriteErrorExit << ")"
              << std::endl;
    return kWriteErrorExit;
  }
  std::cerr << "lumaflow: watch stopped: " << s.faces << " face" << (s.faces == 1 ? "" : "s") << " (" << s.known
            << " known, " << s.unknown << " unknown, " << s.proposed << " in proposed identities) from " << s.files
            << " file" << (s.files == 1 ? "" : "s") << ", " << s.errors << " error" << (s.errors == 1 ? "" : "s");
  if (!a.store.empty()) std::cerr << "; " << s.stored << " records appended to " << a.store;
  std::cerr << std::endl;
  return 0;
}

struct RelabelArgs {
  std::string model, which, name;
};

int run_relabel(const RelabelArgs& a) {
  const auto sidecar = UnknownTracker::sidecar_for(a.model);
  std::error_code ec;
  if (!std::filesystem::exists(a.model, ec) && !std::filesystem::exists(sidecar, ec))
    throw std::runtime_error(a.model + ": no such model file");
  const std::string key = relabel_identity(sidecar, a.which, a.name);
  std::cout << key << " is now called " << a.name << "\n";
  return 0;
}

}  // namespace

void register_watch_commands(CLI::App& app, Registry& reg) {
  auto w = std::make_shared<WatchArgs>();
  auto* c = app.add_subcommand(
      "watch", "Classify each face arriving in a folder (inotify), one answer line per face, as it arrives");
  c->add_option("MODEL", w->model, "Model file (lumaflow fit); it fixes the preprocessing")->required();
  c->add_option("DIR", w->dir, "Folder to watch, sub-folders included")->required()->check(CLI::ExistingDirectory);
  c->add_option("--store", w->store, "Append every face (label = predicted person, -1 unknown) to this store");
  c->add_option("--out", w->out, "Append answer lines to this file instead of standard output");
  c->add_flag("--existing", w->existing, "Classify the files already in DIR first");
  EmbedFlags::add_models_option(*c, w->models);
  c->add_option("--threads", w->threads, "Worker threads (0 = all cores)")
      ->check(thread_count())
      ->capture_default_str();
  c->add_option("--format", w->format, "Answer lines: json or csv")
      ->check(CLI::IsMember({"json", "csv"}))
      ->capture_default_str();
  c->add_option("--annotate", w->annotate,
                "Write each frame with detected faces as OUT/<path>.png with boxes and names");
  c->footer(
      "Each answer line is written only once its face is in the store (fsynced). Exit codes: 0 stopped by "
      "SIGINT/SIGTERM, 1 error at start, 4 a write error (store or answer stream, e.g. disk full): the face "
      "that could not be stored gets an error line and the watch stops.");
  c->add_option("--serve", w->serve,
                "Serve a live page, JSON and Prometheus /metrics at HOST:PORT (e.g. 127.0.0.1:8080; a non-loopback "
                "host needs the access token printed at start)");
  c->callback([w] {
    if (w->serve.empty()) return;
    if (w->format == "csv")
      throw CLI::ValidationError("--serve", "the live page reads JSON answer lines: drop --format csv");
    try {
      parse_serve_address(w->serve);
    } catch (const std::invalid_argument& e) {
      throw CLI::ValidationError("--serve", e.what());
    }
  });
  reg.emplace_back(c, [w] { return run_watch_command(*w); });

  auto r = std::make_shared<RelabelArgs>();
  auto* rc = app.add_subcommand("relabel", "Name a proposed identity: lumaflow relabel MODEL new-1 Alice");
  rc->add_option("MODEL", r->model, "Model file the identities belong to (MODEL.identities.json)")->required();
  rc->add_option("IDENTITY", r->which, "Proposed identity key (new-K) or its current name")->required();
  rc->add_option("NAME", r->name, "New name")->required();
  reg.emplace_back(rc, [r] { return run_relabel(*r); });
}

}  // namespace lumaflow::cli
