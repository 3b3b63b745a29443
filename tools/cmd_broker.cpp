// lumaflow publish / worker / collect: frames through Redis Streams to N stateless classify
// workers (nodes/broker; README "Past one machine: Redis Streams").
//
//   publish DIR|FILE... --redis URL   one frames-stream entry per image (--watch: as they arrive)
//   worker MODEL --redis URL          consumer-group reader: frame chain + classifier -> results
//   collect MODEL --redis URL --store S   results -> store (durable) -> answer lines
//
// The password comes from LUMAFLOW_REDIS_PASSWORD, never from the command line. SIGINT/SIGTERM:
// publish stops after the frame in hand, worker finishes and acknowledges its batch, collect
// commits its round; all exit 0.
#include <unistd.h>

#include <cstdlib>

#include "flow/broker_worker.hpp"
#include "flow/watch.hpp"
#include "nodes/broker/collector.hpp"
#include "nodes/broker/publisher.hpp"
#include "nodes/broker/worker.hpp"
#include "nodes/core/checksum.hpp"
#include "nodes/core/hash.hpp"
#include "nodes/image/faces.hpp"
#include "nodes/image/watcher.hpp"
#include "nodes/model/openset.hpp"
#include "tools/cli_common.hpp"
#include "tools/commands.hpp"
#include "tools/process_io.hpp"

namespace lumaflow::cli {
namespace {

struct RedisFlags {
  std::string url = "redis://127.0.0.1:6379";
  std::string stream = "frames", group = "classify", results = "results";
  void add(CLI::App& c, bool results_too) {
    c.add_option("--redis", url, "redis://host[:port][/db] (password: $" + std::string(kRedisPasswordEnv) + ")")
        ->capture_default_str();
    c.add_option("--stream", stream, "Frames stream")->capture_default_str();
    c.add_option("--group", group, "Consumer group of the workers")->capture_default_str();
    if (results_too) c.add_option("--results", results, "Results stream")->capture_default_str();
  }
};

void warn_line(const std::string& m) { std::cerr << "lumaflow: warning: " << m << std::endl; }

ConnectOptions connect_options(const RedisFlags& f, const std::string& who, const StopSignals& signals) {
  ConnectOptions o;
  o.url = redis_url_from_cli(f.url, std::getenv(kRedisPasswordEnv));
  o.seed = hash_string(who);  // jitter differs between processes, reproducibly
  o.stop = [&signals] { return signals.stop_requested(); };
  o.warn = warn_line;
  return o;
}

std::string model_hash(const std::string& path) {
  const auto bytes = read_bytes(path, 4ull << 30);
  return hex64(xxh3_64(bytes.data(), bytes.size()));
}

std::string default_consumer() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(::getpid());
}

// ---------------------------------------------------------------------------------------------
struct PublishArgs {
  RedisFlags redis;
  std::vector<std::string> inputs;
  bool watch = false, existing = false;
  uint64_t max_bytes = 4u << 20;
  std::string shared_dir;
  long long max_lag = 1000;
};

int run_publish(const PublishArgs& a) {
  StopSignals signals;
  Connection conn(connect_options(a.redis, "publish:" + a.redis.stream, signals));
  PublishOptions po;
  po.stream = a.redis.stream;
  po.group = a.redis.group;
  po.max_bytes = a.max_bytes;
  po.shared_dir = a.shared_dir;
  po.max_lag = a.max_lag;
  po.stop = [&signals] { return signals.stop_requested(); };
  po.waiting = [&](long long n) {
    std::cerr << "lumaflow: publish: waiting: " << n << " frames not yet read by group " << a.redis.group << " (limit "
              << a.max_lag << ")" << std::endl;
  };
  Publisher pub(conn, po);
  size_t published = 0, refused = 0;
  auto one = [&](const std::filesystem::path& path, const std::string& name) {
    try {
      const std::string id = pub.publish(path, name);
      std::cout << id << " " << name << "\n" << std::flush;
      ++published;
    } catch (const FrameTooLarge& e) {
      std::cerr << "lumaflow: error: " << e.what() << "; not published" << std::endl;
      ++refused;
    }
  };
  try {
    if (a.watch) {
      if (a.inputs.size() != 1 || !std::filesystem::is_directory(a.inputs[0]))
        throw std::runtime_error("--watch takes one folder");
      FolderWatcher watcher(a.inputs[0], WatcherOptions{a.existing});
      watcher.add_stop_fd(signals.read_fd());
      std::cerr << "lumaflow: publishing " << a.inputs[0] << " as it arrives to " << conn.url().display() << " "
                << a.redis.stream << "; Ctrl-C to stop" << std::endl;
      while (auto ev = watcher.next()) {
        if (!ev->ok())
          warn_line(ev->path.string() + ": " + ev->error);
        else
          one(ev->path, ev->rel);
      }
    } else {
      for (const auto& in : a.inputs) {
        if (signals.stop_requested()) break;
        if (std::filesystem::is_directory(in)) {
          for (const auto& e : scan_directory(in).entries) {
            if (signals.stop_requested()) break;
            one(e.path, e.rel);
          }
        } else {
          one(in, std::filesystem::path(in).filename().string());
        }
      }
    }
  } catch (const BrokerStopped&) {
  }
  std::cerr << "lumaflow: published " << published << " frame" << (published == 1 ? "" : "s") << " to "
            << conn.url().display() << " " << a.redis.stream;
  if (refused) std::cerr << "; " << refused << " refused";
  std::cerr << std::endl;
  return refused ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
struct WorkerArgs {
  RedisFlags redis;
  std::string model, consumer, models;
  int threads = 1, batch = 8, max_deliveries = 3;
  int claim_idle_ms = 5000;
};

int run_worker_command(const WorkerArgs& a) {
  StopSignals signals;  // first: a SIGTERM while the model loads still ends in a clean exit
  const FittedModel model = load_model(a.model);
  const EmbedOptions embed = embed_options_for(model);
  IngestOptions io;
  io.embed = embed;
  io.models_dir = a.models;
  io.threads = a.threads;  // OpenCV's own workers get the same budget
  std::unique_ptr<FaceTools> tools = make_face_tools(io);
  const std::string consumer = a.consumer.empty() ? default_consumer() : a.consumer;
  Connection conn(connect_options(a.redis, "worker:" + consumer, signals));
  claim_model(conn, model_key(a.redis.stream, a.redis.group), model_hash(a.model), consumer);
  WorkerOptions wo;
  wo.stream = a.redis.stream;
  wo.group = a.redis.group;
  wo.results = a.redis.results;
  wo.consumer = consumer;
  wo.batch = a.batch;
  wo.claim_idle = std::chrono::milliseconds(a.claim_idle_ms);
  wo.max_deliveries = a.max_deliveries;
  wo.stop = [&signals] { return signals.stop_requested(); };
  BrokerClassifier classify(model, embed, tools.get(), a.threads, consumer);
  std::cerr << "lumaflow: worker " << consumer << " reading " << conn.url().display() << " " << a.redis.stream
            << " (group " << a.redis.group << ") with " << a.model << std::endl;
  WorkerSummary s;
  try {
    s = run_worker(conn, wo, [&](auto& frames, auto& out) { classify(frames, out); });
  } catch (const BrokerStopped&) {
    std::cerr << "lumaflow: worker " << consumer << " stopped while reconnecting; its frames stay pending" << std::endl;
    return 0;
  }
  std::cerr << "lumaflow: worker " << consumer << " stopped: " << s.frames << " frames (" << s.claimed
            << " claimed from other consumers), " << s.results << " result entries, " << s.errors << " errors"
            << std::endl;
  return 0;
}

// ---------------------------------------------------------------------------------------------
struct CollectArgs {
  RedisFlags redis;
  std::string model, store, out, format = "json";
  bool no_trim = false;
};

int run_collect(const CollectArgs& a) {
  StopSignals signals;
  const FittedModel model = load_model(a.model);
  std::unique_ptr<UnknownTracker> tracker;
  const OpenSetParams osp = open_set_params(model);
  if (osp.eps > 0 && osp.dims > 0 && osp.min_pts >= 1)
    tracker = std::make_unique<UnknownTracker>(osp, UnknownTracker::sidecar_for(a.model));
  Connection conn(connect_options(a.redis, "collect:" + a.store, signals));
  claim_model(conn, model_key(a.redis.stream, a.redis.group), model_hash(a.model), "collect");

  AnswerOutput out(a.out);
  AnswerStream answers(out.fd(), out.name());
  CollectOptions co;
  co.results = a.redis.results;
  co.store = a.store;
  co.format = a.format == "csv" ? AnswerFormat::csv : AnswerFormat::json;
  co.trim = !a.no_trim;
  co.stop = [&signals] { return signals.stop_requested(); };
  if (co.format == AnswerFormat::csv && (out.is_stdout() || answers.empty())) answers.line(answer_csv_header());
  Collector collector(
      conn, model, co, tracker.get(), [&](const std::string& line) { answers.line(line); }, warn_line);
  std::cerr << "lumaflow: collecting " << conn.url().display() << " " << a.redis.results << " into " << a.store
            << " after " << collector.last_id() << std::endl;
  CollectSummary s;
  try {
    s = collector.run();
  } catch (const BrokerStopped&) {
    s = collector.finish();
  } catch (const WatchWriteError& e) {
    std::cerr << "lumaflow: error: " << e.what() << "; collect stopped (exit code 4)" << std::endl;
    return 4;
  }
  const WatchSummary& w = s.recorded;
  std::cerr << "lumaflow: collect stopped: " << s.entries << " result entries (" << s.duplicates
            << " duplicates dropped, " << s.bad << " unreadable), " << w.faces << " faces (" << w.known << " known, "
            << w.unknown << " unknown), " << w.errors << " error lines; " << w.stored << " records appended to "
            << a.store << std::endl;
  return 0;
}

}  // namespace

void register_broker_commands(CLI::App& app, Registry& reg) {
  auto p = std::make_shared<PublishArgs>();
  auto* pc = app.add_subcommand("publish", "Publish frames (image files) to a Redis stream for lumaflow workers");
  pc->add_option("INPUT", p->inputs, "Folders (their images) or image files; with --watch one folder")->required();
  p->redis.add(*pc, false);
  pc->add_flag("--watch", p->watch, "Watch the folder (inotify) and publish each image as it arrives");
  pc->add_flag("--existing", p->existing, "With --watch: publish the images already there first");
  pc->add_option("--max-bytes", p->max_bytes, "Largest frame sent inline; larger ones go as a --shared-dir path")
      ->check(CLI::Range(uint64_t{1}, uint64_t{400} << 20))
      ->capture_default_str();
  pc->add_option("--shared-dir", p->shared_dir,
                 "Storage every worker sees at the same path: frames over --max-bytes under it go as a path")
      ->check(CLI::ExistingDirectory);
  pc->add_option("--max-lag", p->max_lag, "Unread frames in the group before publish waits (backpressure)")
      ->check(CLI::Range(1LL, 100000000LL))
      ->capture_default_str();
  pc->footer("Prints '<entry id> <name>' per frame. Exit code 1 when a frame was refused (one line each).");
  reg.emplace_back(pc, [p] { return run_publish(*p); });

  auto w = std::make_shared<WorkerArgs>();
  auto* wc = app.add_subcommand("worker", "Classify frames from a Redis stream (consumer group), results to a stream");
  wc->add_option("MODEL", w->model, "Model file (the same file for every worker of the group)")
      ->required()
      ->check(CLI::ExistingFile);
  w->redis.add(*wc, true);
  wc->add_option("--consumer", w->consumer, "Consumer name (default host-pid)");
  wc->add_option("--threads", w->threads, "Threads (0 = all cores)")->check(thread_count())->capture_default_str();
  wc->add_option("--batch", w->batch, "Frames read per round")->check(CLI::Range(1, 1000))->capture_default_str();
  wc->add_option("--claim-idle", w->claim_idle_ms, "Claim another consumer's frame after it is pending this long (ms)")
      ->check(CLI::Range(10, 86400000))
      ->capture_default_str();
  wc->add_option("--max-deliveries", w->max_deliveries, "A frame delivered more often gets an error result")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  EmbedFlags::add_models_option(*wc, w->models);
  reg.emplace_back(wc, [w] { return run_worker_command(*w); });

  auto c = std::make_shared<CollectArgs>();
  auto* cc = app.add_subcommand("collect", "Results stream -> store (durable first) -> answer lines");
  cc->add_option("MODEL", c->model, "The workers' model (label names, open set)")->required()->check(CLI::ExistingFile);
  c->redis.add(*cc, true);
  cc->add_option("--store", c->store, "Store to append every face to (its position: STORE.broker)")->required();
  cc->add_option("--out", c->out, "Append answer lines to this file instead of standard output");
  cc->add_option("--format", c->format, "Answer lines: json or csv")
      ->check(CLI::IsMember({"json", "csv"}))
      ->capture_default_str();
  cc->add_flag("--no-trim", c->no_trim, "Keep collected entries in the results stream (default: XTRIM MINID)");
  cc->footer("Exit codes: 0 stopped by SIGINT/SIGTERM, 1 error, 4 a write error (store or answer stream).");
  reg.emplace_back(cc, [c] { return run_collect(*c); });
}

}  // namespace lumaflow::cli
