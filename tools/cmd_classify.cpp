// lumaflow classify: name the faces in image files with a fitted model, one line per face.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <opencv2/imgcodecs.hpp>
#include <set>

#include "flow/watch.hpp"
#include "nodes/core/parallel.hpp"
#include "nodes/core/pixels.hpp"
#include "nodes/model/annotate.hpp"
#include "nodes/model/answer.hpp"
#include "tools/cli_common.hpp"
#include "tools/commands.hpp"

namespace lumaflow::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct ClassifyArgs {
  std::string model;
  std::vector<std::string> inputs;
  std::string format = "json";
  std::string faces;
  std::string annotate;
  int threads = 0;
  std::string models;
};

std::string folder_name(const std::string& dir) {
  std::filesystem::path p = std::filesystem::path(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

// One input frame's faces and their answers, in input order.
struct FrameAnswers {
  FrameResult frame;
  std::vector<Answer> answers;
};

int run_classify(const ClassifyArgs& a) {
  const FittedModel model = load_model(a.model);
  if (!a.faces.empty() && a.faces != model.prep.face_mode)
    throw std::runtime_error(a.model + ": the model was fitted on faces prepared with --faces " + model.prep.face_mode +
                             ", not " + a.faces);
  IngestOptions opt;
  try {
    opt.embed = embed_options_for(model);
  } catch (const std::exception& e) {
    throw std::runtime_error(a.model + ": " + e.what());
  }
  opt.threads = a.threads;
  opt.models_dir = a.models;
  auto tools = make_face_tools(opt);

  // Inputs: files and folders (folders scanned as for embed; folder names are the truth when
  // they name people the model knows, which gives an accuracy line on stderr).
  std::vector<ScanEntry> entries;
  std::vector<std::string> truth;
  std::vector<std::string> short_names;  // for --annotate file names: relative to the input argument
  for (const auto& in : a.inputs) {
    if (std::filesystem::is_directory(in)) {
      const ScanResult s = scan_directory(in);
      for (const auto& p : s.problems) std::cerr << "skipped: " << p.path << ": " << p.reason << "\n";
      for (const auto& e : s.entries) {
        entries.push_back(e);
        short_names.push_back(folder_name(in) + "/" + e.rel);
        entries.back().rel = (std::filesystem::path(in) / e.rel).string();
        // Images directly in a folder named after a person are that person's.
        truth.push_back(e.label >= 0 ? s.labels[static_cast<size_t>(e.label)] : folder_name(in));
      }
    } else {
      ScanEntry e;
      e.path = in;
      e.rel = in;
      entries.push_back(e);
      short_names.push_back(std::filesystem::path(in).filename().string());
      truth.push_back("");
    }
  }
  std::vector<FrameAnswers> frames;
  run_ingest(entries, opt, tools.get(), [&](FrameResult&& r) { frames.push_back({std::move(r), {}}); });
  // Classify every face on its own (results never depend on the batch), in parallel.
  std::vector<std::pair<size_t, size_t>> faces;
  for (size_t f = 0; f < frames.size(); ++f)
    for (size_t k = 0; k < frames[f].frame.faces.size(); ++k) faces.push_back({f, k});
  for (auto& fr : frames) fr.answers.resize(fr.frame.faces.size());
  const auto t0 = Clock::now();
  parallel_for(static_cast<std::ptrdiff_t>(faces.size()), a.threads, [&](std::ptrdiff_t i) {
    const auto [f, k] = faces[static_cast<size_t>(i)];
    const FaceCrop& crop = frames[f].frame.faces[k];
    const auto c0 = Clock::now();
    const RowMatrixF row = face_row(crop);
    Answer& ans = frames[f].answers[k];
    ans.result = classify(model, row, 1).front();
    ans.ms = std::chrono::duration<double, std::milli>(Clock::now() - c0).count();
    ans.path = frames[f].frame.entry.rel;
    ans.face_index = crop.face_index;
    ans.box = crop.box;
  });
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();

  if (a.format == "csv") std::cout << answer_csv_header() << "\n";
  int right = 0, judged = 0, unknown = 0, errors = 0;
  std::set<std::string> written_names;
  bool write_failed = false;
  for (size_t f = 0; f < frames.size(); ++f) {
    const FrameAnswers& fr = frames[f];
    if (!fr.frame.ok()) {
      ++errors;
      std::cout << (a.format == "csv" ? error_csv(fr.frame.entry.path.string(), fr.frame.error)
                                      : error_json(fr.frame.entry.path.string(), fr.frame.error))
                << "\n";
      continue;
    }
    for (const Answer& ans : fr.answers) {
      std::cout << (a.format == "csv" ? answer_csv(ans, model) : answer_json(ans, model)) << "\n";
      unknown += !ans.result.known;
      const std::string& t = truth[f];
      if (!t.empty() && std::find(model.labels.begin(), model.labels.end(), t) != model.labels.end()) {
        ++judged;
        right += ans.result.known && model.labels[static_cast<size_t>(ans.result.label)] == t;
      }
    }
    if (!a.annotate.empty() && !fr.answers.empty()) {
      const cv::Mat img = cv::imread(fr.frame.entry.path.string(), cv::IMREAD_COLOR);
      if (!img.empty()) {
        std::vector<FaceMark> marks;
        for (const Answer& ans : fr.answers)
          marks.push_back(answer_mark(ans, img.size(), known_name(ans.result, model)));
        std::filesystem::create_directories(a.annotate);
        // Named as watch names them (annotated_file_name), made unique when two inputs map alike.
        std::string name = annotated_file_name(short_names[f]);
        for (int k = 2; !written_names.insert(name).second; ++k)
          name = std::filesystem::path(short_names[f]).stem().string() + "-" + std::to_string(k) + ".png";
        const auto out = std::filesystem::path(a.annotate) / name;
        bool ok = false;
        try {
          ok = cv::imwrite(out.string(), annotate_frame(img, marks));
        } catch (const cv::Exception&) {
        }
        if (!ok) {
          std::fprintf(stderr, "lumaflow: %s: cannot write the annotated frame\n", out.string().c_str());
          write_failed = true;
        }
      }
    }
  }
  std::cout.flush();
  std::fprintf(stderr, "classified %zu faces from %zu files (%d errors, %d unknown) in %.3f s, %.0f faces/s\n",
               faces.size(), frames.size(), errors, unknown, secs, secs > 0 ? faces.size() / secs : 0.0);
  if (judged > 0)
    std::fprintf(stderr, "accuracy against folder names: %.4f (%d of %d)\n", static_cast<double>(right) / judged, right,
                 judged);
  return write_failed ? 1 : 0;
}

}  // namespace

void register_classify_command(CLI::App& app, Registry& reg) {
  auto c = std::make_shared<ClassifyArgs>();
  auto* cl =
      app.add_subcommand("classify", "Classify face images with a fitted model: one JSON line (or CSV row) per face");
  cl->add_option("MODEL", c->model, "Model file (lumaflow fit)")->required();
  cl->add_option("INPUTS", c->inputs, "Image files and/or folders")->required();
  cl->add_option("--format", c->format, "json or csv")->check(CLI::IsMember({"json", "csv"}))->capture_default_str();
  cl->add_option("--faces", c->faces, "Must match the model's face mode (asis, detect, align); default: the model's")
      ->check(CLI::IsMember({"asis", "detect", "align"}));
  cl->add_option("--annotate", c->annotate, "Write each frame as PNG with boxes and names into this folder");
  cl->add_option("--threads", c->threads, "Worker threads (0 = all cores)")->check(thread_count());
  EmbedFlags::add_models_option(*cl, c->models);
  reg.emplace_back(cl, [c] { return run_classify(*c); });
}

}  // namespace lumaflow::cli
