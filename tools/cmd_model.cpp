// lumaflow fit | classify: fit a model on labelled faces, then name new faces one by one.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <opencv2/imgcodecs.hpp>

#include "nodes/annotate.hpp"
#include "nodes/answer.hpp"
#include "nodes/evaluate.hpp"
#include "nodes/parallel.hpp"
#include "tools/cli_common.hpp"
#include "tools/commands.hpp"

namespace lumaflow::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct FitArgs {
  std::string input, output;
  EmbedFlags flags;
  ModelOptions opt;
  std::string space = "auto";
  int holdout = 0;
};

int run_fit(FitArgs a) {
  const EmbeddingStore store = load_input(a.input, a.flags);
  a.opt.threads = a.flags.threads;
  // Measure every classify space on a held-out split of the training data, keep the best.
  Labels y;
  std::vector<int> idx;
  for (size_t i = 0; i < store.size(); ++i)
    if (store.record(i).label >= 0) {
      idx.push_back(static_cast<int>(i));
      y.push_back(store.record(i).label);
    }
  std::map<int, int> per;
  for (int l : y) ++per[l];
  int smallest = INT32_MAX;
  for (const auto& [l, c] : per) smallest = std::min(smallest, c);
  const int test_per = a.holdout > 0 ? a.holdout : std::max(1, smallest / 5);
  float heldout = -1;
  ClassifySpace space = a.space == "auto" ? ClassifySpace::pca : parse_classify_space(a.space);
  if (!idx.empty() && smallest - test_per >= 1 && per.size() >= 2) {
    const auto t0 = Clock::now();
    const RowMatrixF x = take_rows(store.matrix(), idx);
    const HeldoutScores h = heldout_scores(x, y, stratified_holdout(y, test_per, a.opt.seed), a.opt);
    std::fprintf(stderr,
                 "held-out accuracy (%d per person, %d faces): pca %.3f  umap2 %.3f  umapN %.3f  (1-NN raw %.3f)  [%.1f s]\n",
                 test_per, h.test, h.pca.accuracy, h.umap2.accuracy, h.umapn.accuracy, h.raw_1nn,
                 std::chrono::duration<double>(Clock::now() - t0).count());
    if (a.space == "auto") space = parse_classify_space(h.best);
    heldout = static_cast<float>(space == ClassifySpace::pca     ? h.pca.accuracy
                                 : space == ClassifySpace::umap2 ? h.umap2.accuracy
                                                                 : h.umapn.accuracy);
  } else {
    std::fprintf(stderr, "held-out accuracy: not measured (too few faces per person for a split)\n");
  }
  a.opt.space = space;
  FittedModel m = fit_model(store, a.opt);
  m.heldout_accuracy = heldout;
  save_model(a.output, m);
  std::cout << "wrote " << a.output << ": " << m.reduced.rows() << " faces of " << m.labels.size()
            << " people, classify space " << classify_space_name(m.space) << ", PCA " << m.reduced.cols()
            << ", open-set threshold " << m.open_set_threshold << "\n";
  return 0;
}

struct ClassifyArgs {
  std::string model;
  std::vector<std::string> inputs;
  std::string format = "json";
  std::string faces;
  std::string annotate;
  int threads = 0;
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
  EmbedFlags flags;
  flags.size = model.prep.image_size;
  flags.aspect = model.prep.aspect;
  flags.faces = model.prep.face_mode;
  flags.equalize = model.prep.equalize;
  flags.threads = a.threads;
  const IngestOptions opt = flags.options();
  if (auto d = opt.embed.preprocessing().difference(model.prep); !d.empty())
    throw std::runtime_error(a.model + ": model preprocessing not reproducible here: " + d);
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
        short_names.push_back(e.rel);
        entries.back().rel = (std::filesystem::path(in) / e.rel).string();
        // Images directly in a folder named after a person are that person's.
        truth.push_back(e.label >= 0 ? s.labels[static_cast<size_t>(e.label)]
                                     : folder_name(in));
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
    RowMatrixF row(1, static_cast<Eigen::Index>(crop.pixels.size()));
    for (size_t j = 0; j < crop.pixels.size(); ++j) row(0, static_cast<Eigen::Index>(j)) = crop.pixels[j] / 255.0f;
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
      std::vector<FaceMark> marks;
      for (const Answer& ans : fr.answers) {
        FaceMark m;
        if (ans.box) m.box = cv::Rect(ans.box->x, ans.box->y, ans.box->width, ans.box->height);
        m.label = ans.result.known ? ans.result.label : -1;
        char conf[16];
        std::snprintf(conf, sizeof conf, " %.2f", ans.result.confidence);
        m.text = ans.result.known ? model.labels[static_cast<size_t>(ans.result.label)] + conf : "unknown";
        marks.push_back(m);
      }
      const cv::Mat img = cv::imread(fr.frame.entry.path.string(), cv::IMREAD_COLOR);
      if (!img.empty()) {
        if (!marks.front().box.area()) marks.front().box = cv::Rect(0, 0, img.cols, img.rows);
        std::filesystem::create_directories(a.annotate);
        std::string name = short_names[f];
        std::replace(name.begin(), name.end(), '/', '_');
        cv::imwrite((std::filesystem::path(a.annotate) / (std::filesystem::path(name).stem().string() + ".png")).string(),
                    annotate_frame(img, marks));
      }
    }
  }
  std::cout.flush();
  std::fprintf(stderr, "classified %zu faces from %zu files (%d errors, %d unknown) in %.3f s, %.0f faces/s\n", faces.size(),
               frames.size(), errors, unknown, secs, secs > 0 ? faces.size() / secs : 0.0);
  if (judged > 0) std::fprintf(stderr, "accuracy against folder names: %.4f (%d of %d)\n", static_cast<double>(right) / judged, right, judged);
  return 0;
}

struct SplitArgs {
  std::string input, train, test;
  int test_per = 2;
  uint64_t seed = 42;
};

// The same stratified split analyze's held-out score uses, as two folders of symlinks.
int run_split(const SplitArgs& a) {
  const ScanResult s = scan_directory(a.input);
  Labels y;
  std::vector<int> idx;
  for (size_t i = 0; i < s.entries.size(); ++i)
    if (s.entries[i].label >= 0) {
      y.push_back(s.entries[i].label);
      idx.push_back(static_cast<int>(i));
    }
  const Split split = stratified_holdout(y, a.test_per, a.seed);
  auto link = [&](const std::vector<int>& part, const std::string& root) {
    for (int j : part) {
      const ScanEntry& e = s.entries[static_cast<size_t>(idx[static_cast<size_t>(j)])];
      const auto dst = std::filesystem::path(root) / e.rel;
      std::filesystem::create_directories(dst.parent_path());
      std::error_code ec;
      std::filesystem::remove(dst, ec);
      std::filesystem::create_symlink(std::filesystem::absolute(e.path), dst);
    }
  };
  link(split.train, a.train);
  link(split.test, a.test);
  std::cout << "train " << split.train.size() << " -> " << a.train << ", test " << split.test.size() << " -> " << a.test << "\n";
  return 0;
}

}  // namespace

void register_model_commands(CLI::App& app, Registry& reg) {
  auto sp = std::make_shared<SplitArgs>();
  auto* split = app.add_subcommand("split", "Split a labelled folder into train/test folders (symlinks), the held-out split analyze scores");
  split->add_option("INPUT", sp->input, "Face folder (DIR/<person>/<image>)")->required();
  split->add_option("--train", sp->train, "Folder for the training part")->required();
  split->add_option("--test", sp->test, "Folder for the test part")->required();
  split->add_option("--test-per", sp->test_per, "Test faces per person")->capture_default_str();
  split->add_option("--seed", sp->seed, "Seed (as analyze --seed)")->capture_default_str();
  reg.emplace_back(split, [sp] { return run_split(*sp); });

  auto f = std::make_shared<FitArgs>();
  auto* fit = app.add_subcommand("fit", "Fit a model (PCA + UMAP + SVM + open-set threshold) on labelled faces");
  fit->add_option("INPUT", f->input, "Face folder (DIR/<person>/<image>) or store file")->required();
  fit->add_option("-o,--output", f->output, "Model file to write (atomically)")->required();
  f->flags.add_to(*fit);
  fit->add_option("--classify-space", f->space, "Where the SVM classifies: pca, umap2, umapN, or auto (best on a held-out split)")
      ->check(CLI::IsMember({"auto", "pca", "umap2", "umapN"}))->capture_default_str();
  fit->add_option("--pca", f->opt.pca_components, "PCA components")->check(CLI::Range(2, 4096))->capture_default_str();
  fit->add_flag("--whiten", f->opt.whiten, "Whiten the PCA space (eigenfaces with unit variance)");
  fit->add_option("--umapn", f->opt.umapn_components, "UMAP components for --classify-space umapN")->capture_default_str();
  fit->add_option("--neighbors", f->opt.umap.n_neighbors, "UMAP neighbours")->capture_default_str();
  fit->add_option("--min-dist", f->opt.umap.min_dist, "UMAP min_dist")->capture_default_str();
  fit->add_option("--knn", f->opt.knn_k, "Neighbours reported per face")->capture_default_str();
  fit->add_option("--open-set-percentile", f->opt.open_set_percentile,
                  "Percentile of within-person nearest distances that calibrates 'unknown'")->capture_default_str();
  fit->add_option("--min-faces", f->opt.min_faces, "Unknown faces needed to propose a new identity")->capture_default_str();
  fit->add_option("--holdout", f->holdout, "Held-out faces per person for choosing the space (0 = 20 %)");
  fit->add_option("--seed", f->opt.seed, "Seed")->capture_default_str();
  reg.emplace_back(fit, [f] { return run_fit(*f); });

  auto c = std::make_shared<ClassifyArgs>();
  auto* cl = app.add_subcommand("classify", "Classify face images with a fitted model: one JSON line (or CSV row) per face");
  cl->add_option("MODEL", c->model, "Model file (lumaflow fit)")->required();
  cl->add_option("INPUTS", c->inputs, "Image files and/or folders")->required();
  cl->add_option("--format", c->format, "json or csv")->check(CLI::IsMember({"json", "csv"}))->capture_default_str();
  cl->add_option("--faces", c->faces, "Must match the model's face mode (asis, detect, align); default: the model's")
      ->check(CLI::IsMember({"asis", "detect", "align"}));
  cl->add_option("--annotate", c->annotate, "Write each frame as PNG with boxes and names into this folder");
  cl->add_option("--threads", c->threads, "Worker threads (0 = all cores)");
  reg.emplace_back(cl, [c] { return run_classify(*c); });
}

}  // namespace lumaflow::cli
