// lumaflow fit | split: fit a model on labelled faces; the held-out split analyze scores, as folders.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>

#include "nodes/analysis/pca.hpp"
#include "nodes/measure/heldout.hpp"
#include "nodes/model/calibrate.hpp"
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
  int pca = 0;                    // 0: the embedding's default (100 for pixels, no reduction for learned vectors)
  std::string open_set = "auto";  // auto: cv for pixels, pairs for learned descriptors
};

int run_fit(FitArgs a) {
  EmbeddingStore store = load_input(a.input, a.flags);
  a.opt.threads = a.flags.threads;
  a.opt.pca_components = a.pca > 0 ? a.pca : store.learned() ? 0 : 100;
  if (store.learned()) {
    // Grey training faces: the chips of new (colour) frames are made grey as well.
    EmbedOptions e = EmbedOptions::from(store.header().prep);
    const bool grey_data = all_thumbnails_grey(store);
    if (a.flags.chip_colour == "grey" && !e.chip_grey && !grey_data)
      throw std::invalid_argument(a.input +
                                  ": its faces were described from colour chips; embed it again with "
                                  "--chip-colour grey to fit on grey chips");
    const bool grey = a.flags.chip_colour == "grey" || (a.flags.chip_colour == "auto" && grey_data) || e.chip_grey;
    if (a.flags.chip_colour == "rgb" && e.chip_grey)
      throw std::invalid_argument(a.input + ": its faces were described from grey chips, not rgb");
    e.chip_grey = grey;
    store.header().prep = e.preprocessing();
    std::fprintf(stderr, "face chips: %s (%s)\n", grey ? "grey" : "rgb",
                 a.flags.chip_colour != "auto" ? "--chip-colour"
                 : grey_data                   ? "every training face is grey"
                                               : "training faces in colour");
  }
  // Up to kGramMax pixel faces (d ≫ n) one exact Gram matrix of the rows serves every PCA below
  // (the held-out model's, the final model's and their cross-validated refits): each iterates on
  // n × n inner products instead of re-reading n × d rows (nodes/analysis/pca.hpp).
  constexpr size_t kGramMax = 5000;
  Eigen::MatrixXd gram;
  if (store.size() <= kGramMax && store.size() >= 2) {
    const RowSource all = store.rows();
    if (all.cols() > all.rows()) gram = gram_matrix(all.matrix());
  }
  const RowSource store_rows = gram.size() ? store.rows().with_gram(gram) : store.rows();
  // Measure every classify space on a held-out split of the training data, keep the best.
  Labels y;
  std::vector<int> idx;
  for (size_t i = 0; i < store.size(); ++i)
    if (store.record(i).label >= 0) {
      idx.push_back(static_cast<int>(i));
      y.push_back(store.record(i).label);
    }
  // auto: cross-validation wherever the set can estimate the stated rate; a learned descriptor's
  // distances also mean something across sets, so a small learned set falls back to the pair
  // rule (pixel distances do not: a small pixel set is still cross-validated, coarsely).
  const bool small = !cv_can_calibrate(y.size(), a.opt.open_set_frr);
  a.opt.open_set = a.open_set == "cv"         ? OpenSetRule::cv
                   : a.open_set == "pairs"    ? OpenSetRule::pairs
                   : store.learned() && small ? OpenSetRule::pairs
                                              : OpenSetRule::cv;
  std::map<int, int> per;
  for (int l : y) ++per[l];
  int smallest = INT32_MAX;
  for (const auto& [l, c] : per) smallest = std::min(smallest, c);
  const int test_per = a.holdout > 0 ? a.holdout : std::max(1, smallest / 5);
  float heldout = -1;
  ClassifySpace space = a.space == "auto" ? ClassifySpace::pca : parse_classify_space(a.space);
  if (!idx.empty() && smallest - test_per >= 1 && per.size() >= 2) {
    const auto t0 = Clock::now();
    const RowSource x = store_rows.subset(idx);  // the mapped rows: no n × d copy at any size
    // 1-NN on raw rows costs O(test · train · d): past analyze's raw_max it is left out there too.
    constexpr Eigen::Index kRawNnMax = 5000;
    const HeldoutScores h =
        heldout_scores(x, y, stratified_holdout(y, test_per, a.opt.seed), a.opt, x.rows() <= kRawNnMax);
    char raw_nn[64];
    if (h.raw_1nn >= 0)
      std::snprintf(raw_nn, sizeof raw_nn, "1-NN raw %.3f", h.raw_1nn);
    else
      std::snprintf(raw_nn, sizeof raw_nn, "1-NN raw not run past %d faces", static_cast<int>(kRawNnMax));
    std::fprintf(stderr,
                 "held-out accuracy (%d per person, %d faces): pca %.3f  umap2 %.3f  umapN %.3f  (%s)  [%.1f s]\n",
                 test_per, h.test, h.pca.accuracy, h.umap2.accuracy, h.umapn.accuracy, raw_nn,
                 std::chrono::duration<double>(Clock::now() - t0).count());
    if (a.space == "auto") space = parse_classify_space(h.best);
    heldout = static_cast<float>(space == ClassifySpace::pca     ? h.pca.accuracy
                                 : space == ClassifySpace::umap2 ? h.umap2.accuracy
                                                                 : h.umapn.accuracy);
  } else {
    std::fprintf(stderr, "held-out accuracy: not measured (too few faces per person for a split)\n");
  }
  a.opt.space = space;
  FittedModel m = fit_model(store, a.opt, gram.size() ? &gram : nullptr);
  m.heldout_accuracy = heldout;
  save_model(a.output, m);
  std::cout << "wrote " << a.output << ": " << m.reduced.rows() << " faces of " << m.labels.size()
            << " people, classify space " << classify_space_name(m.space) << ", PCA " << m.reduced.cols() << "\n";
  if (m.shortlist > 0)
    std::cout << "classifier: one-vs-one SVM among the " << m.shortlist << " nearest people of each face\n";
  else
    std::cout << "classifier: one-vs-one SVM among all " << m.svm.classes().size() << " people\n";
  if (m.open_set_frr > 0)
    std::cout << "open set (cross-validated to " << m.open_set_frr * 100 << " % of known faces unknown): distance "
              << m.open_set_threshold << ", ratio " << m.open_set_ratio
              << "; measured on the folds: " << m.open_set_cv_frr * 100 << " % of known faces unknown\n";
  else {
    std::cout << "open set (equal error of same/different-person training pairs): distance " << m.open_set_threshold;
    if (a.open_set == "auto")
      std::cout << " (" << m.reduced.rows() << " faces: too few to cross-validate a " << a.opt.open_set_frr * 100
                << " % rate)";
    std::cout << "\n";
  }
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
  std::cout << "train " << split.train.size() << " -> " << a.train << ", test " << split.test.size() << " -> " << a.test
            << "\n";
  return 0;
}

}  // namespace

void register_fit_commands(CLI::App& app, Registry& reg) {
  auto sp = std::make_shared<SplitArgs>();
  auto* split = app.add_subcommand(
      "split", "Split a labelled folder into train/test folders (symlinks), the held-out split analyze scores");
  split->add_option("INPUT", sp->input, "Face folder (DIR/<person>/<image>)")->required();
  split->add_option("--train", sp->train, "Folder for the training part")->required();
  split->add_option("--test", sp->test, "Folder for the test part")->required();
  split->add_option("--test-per", sp->test_per, "Test faces per person")
      ->check(between(1, 100000))
      ->capture_default_str();
  split->add_option("--seed", sp->seed, "Seed (as analyze --seed)")->capture_default_str();
  reg.emplace_back(split, [sp] { return run_split(*sp); });

  auto f = std::make_shared<FitArgs>();
  auto* fit = app.add_subcommand("fit", "Fit a model (PCA + UMAP + SVM + open-set threshold) on labelled faces");
  fit->add_option("INPUT", f->input, "Face folder (DIR/<person>/<image>) or store file")->required();
  fit->add_option("-o,--output", f->output, "Model file to write (atomically)")->required()->check(not_a_folder());
  f->flags.add_to(*fit);
  fit->add_option("--classify-space", f->space,
                  "Where the SVM classifies: pca, umap2, umapN, or auto (best on a held-out split)")
      ->check(CLI::IsMember({"auto", "pca", "umap2", "umapN"}))
      ->capture_default_str();
  fit->add_option("--pca", f->pca, "PCA components (default 100 for pixels; learned vectors are not reduced)")
      ->check(CLI::Range(2, 4096));
  fit->add_flag("--whiten", f->opt.whiten, "Whiten the PCA space (eigenfaces with unit variance)");
  fit->add_option("--umapn", f->opt.umapn_components, "UMAP components for --classify-space umapN")
      ->check(between(2, 100))
      ->capture_default_str();
  add_umap_options(*fit, f->opt.umap);
  fit->add_option("--knn", f->opt.knn_k, "Neighbours reported per face")
      ->check(between(1, 1000))
      ->capture_default_str();
  fit->add_option("--shortlist", f->opt.shortlist,
                  "People the SVM votes among per face, nearest first; 0: all; -1: all up to " +
                      std::to_string(kShortlistFrom) + " people, else " + std::to_string(kShortlistPeople))
      ->check(between(-1, 100000))
      ->capture_default_str();
  fit->add_option("--open-set", f->open_set,
                  "How unknown is calibrated: cv (both thresholds cross-validated to --open-set-frr), "
                  "pairs (equal error of same/different-person training pairs), auto (cv; pairs for a "
                  "learned descriptor fitted on fewer than 5/frr faces)")
      ->check(CLI::IsMember({"auto", "cv", "pairs"}))
      ->capture_default_str();
  fit->add_option("--open-set-frr", f->opt.open_set_frr,
                  "Share of known faces allowed to be called unknown; both open-set thresholds are "
                  "cross-validated to it on the training faces")
      ->check(between(0.001, 0.5, false))
      ->capture_default_str();
  fit->add_option("--min-faces", f->opt.min_faces, "Unknown faces needed to propose a new identity")
      ->check(between(2, 100000))
      ->capture_default_str();
  fit->add_option("--holdout", f->holdout, "Held-out faces per person for choosing the space (0 = 20 %)")
      ->check(between(0, 100000));
  fit->add_option("--seed", f->opt.seed, "Seed")->capture_default_str();
  reg.emplace_back(fit, [f] { return run_fit(*f); });
}

}  // namespace lumaflow::cli
