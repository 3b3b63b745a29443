// lumaflow embed | inspect | export: folder -> store, store -> text, store -> numpy.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "nodes/core/atomic_file.hpp"
#include "nodes/core/pixels.hpp"
#include "nodes/model/answer.hpp"
#include "tools/cli_common.hpp"
#include "tools/commands.hpp"

namespace lumaflow::cli {
namespace {

struct EmbedArgs {
  std::string input, output;
  EmbedFlags flags;
};

int run_embed(const EmbedArgs& a) {
  const IngestOptions opt = a.flags.options();
  auto tools = make_face_tools(opt);
  const IngestSummary s = ingest_to_file(a.input, a.output, opt, tools.get(), progress_bar("embed"));
  print_summary(s, std::cerr);
  std::cout << "wrote " << a.output << " (" << s.faces << " records)\n";
  return 0;
}

struct InspectArgs {
  std::string store;
  bool json = false;
};

int run_inspect(const InspectArgs& a) {
  LoadReport rep;
  const EmbeddingStore s = load_store(a.store, &rep);
  const auto& h = s.header();
  std::map<int, size_t> counts;
  size_t boxes = 0;
  for (const auto& r : s.records()) {
    ++counts[r.label];
    boxes += r.box.has_value();
  }
  if (a.json) {
    nlohmann::json j;
    j["path"] = a.store;
    j["format_version"] = h.format_version;
    j["image_size"] = h.prep.image_size;
    j["grayscale"] = h.prep.grayscale;
    j["interpolation"] = h.prep.interpolation;
    j["aspect"] = h.prep.aspect;
    j["face_mode"] = h.prep.face_mode;
    j["equalize"] = h.prep.equalize;
    j["embedding"] = h.prep.embedding;
    j["dims"] = s.dims();
    if (h.prep.learned()) {
      j["embedding_model"] = h.prep.embedding_model;
      j["chip"] = h.prep.chip;
      j["thumbnail"] = {{"side", h.thumbnail_size}, {"channels", h.thumbnail_channels}};
    }
    j["created_by"] = h.created_by;
    if (!rep.damaged.empty()) {
      auto& d = j["damaged"] = nlohmann::json::array();
      for (const auto& r : rep.damaged) d.push_back({{"offset", r.offset}, {"length", r.length}, {"reason", r.reason}});
    }
    j["records"] = s.size();
    j["segments"] = rep.segments;
    j["intact"] = !rep.damage.has_value();
    if (rep.damage) j["damage"] = *rep.damage;
    auto& per = j["labels"] = nlohmann::json::array();
    for (size_t i = 0; i < h.labels.size(); ++i)
      per.push_back(
          {{"label", h.labels[i]}, {"count", counts.count(static_cast<int>(i)) ? counts[static_cast<int>(i)] : 0}});
    j["unlabelled"] = counts.count(-1) ? counts[-1] : 0;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "store      " << a.store << "\n"
              << "format     v" << h.format_version << ", " << rep.segments << " segment"
              << (rep.segments == 1 ? "" : "s") << ", " << rep.bytes_ok << " bytes intact\n"
              << "records    " << s.size() << " (" << s.dims() << "-d vectors, "
              << (h.prep.learned()
                      ? h.prep.embedding + " descriptors of " + h.prep.chip
                      : std::to_string(h.prep.image_size) + "x" + std::to_string(h.prep.image_size) + " luminance")
              << ")\n";
    if (h.prep.learned())
      std::cout << "model      " << h.prep.embedding_model << "\nthumbnails " << h.thumbnail_size << "x"
                << h.thumbnail_size << "x" << h.thumbnail_channels << "\n";
    else
      std::cout << "pixels     " << h.prep.grayscale << "; resize " << h.prep.interpolation << "; aspect "
                << h.prep.aspect << "\n";
    std::cout << "faces      mode " << h.prep.face_mode << ", equalize " << h.prep.equalize << ", " << boxes
              << " records with a face box\n"
              << "made by    " << h.created_by << "\n"
              << "labels     " << h.labels.size() << "\n";
    for (size_t i = 0; i < h.labels.size(); ++i) {
      const auto it = counts.find(static_cast<int>(i));
      std::printf("  %-24s %zu\n", h.labels[i].c_str(), it == counts.end() ? size_t{0} : it->second);
    }
    if (counts.count(-1)) std::printf("  %-24s %zu\n", "(unlabelled)", counts[-1]);
    std::cout << "integrity  "
              << (rep.damage ? "DAMAGED: " + *rep.damage + " (intact records shown)" : std::string("ok")) << "\n";
    for (const auto& r : rep.damaged)
      std::cout << "  damaged  bytes " << r.offset << "–" << r.offset + r.length << " (" << r.length
                << " bytes): " << r.reason << "\n";
    if (rep.second_header) std::cout << "  a second header at byte " << *rep.second_header << " ends the store\n";
    if (rep.damage) std::cout << "  (lumaflow repair " << a.store << " keeps every intact record)\n";
  }
  return rep.damage ? 3 : 0;
}

struct ExportArgs {
  std::string store, npy, labels;
  std::string dtype = "f4";
};

// NumPy .npy v1.0: magic, header dict padded to a 64-byte boundary, then C-order data.
void write_npy(const std::filesystem::path& path, const EmbeddingStore& s, bool as_float) {
  const std::string shape = "(" + std::to_string(s.size()) + ", " + std::to_string(s.dims()) + ")";
  std::string header =
      std::string("{'descr': '") + (as_float ? "<f4" : "|u1") + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t pre = 10;
  while ((pre + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  AtomicFile out(path);
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  const char lb[2] = {static_cast<char>(len & 0xFF), static_cast<char>(len >> 8)};
  out.write(lb, 2);
  out.write(header);
  if (as_float) {
    std::vector<float> row(s.dims());
    for (size_t i = 0; i < s.size(); ++i) {
      s.row(i, row.data());
      out.write(row.data(), row.size() * sizeof(float));
    }
  } else {
    for (size_t i = 0; i < s.size(); ++i) out.write(s.pixels(i), s.dims());
  }
  out.commit();
}

int run_export(const ExportArgs& a) {
  if (a.npy.empty() && a.labels.empty()) throw std::runtime_error("export: give --npy and/or --labels");
  const EmbeddingStore s = load_store_verbose(a.store);
  if (!a.npy.empty() && s.learned() && a.dtype != "f4")
    throw std::runtime_error(a.store + ": learned vectors are float32; --dtype u1 applies to pixel stores only");
  if (!a.npy.empty()) write_npy(a.npy, s, a.dtype == "f4");
  if (!a.labels.empty()) {
    std::string csv = "index,path,face_index,label_index,label\n";
    for (size_t i = 0; i < s.size(); ++i) {
      const auto& r = s.record(i);
      csv += std::to_string(i) + "," + csv_field(r.path) + "," + std::to_string(r.face_index) + "," +
             std::to_string(r.label) + "," +
             (r.label >= 0 ? csv_field(s.header().labels[static_cast<size_t>(r.label)]) : "") + "\n";
    }
    write_text_file(a.labels, csv);
  }
  std::cerr << "exported " << s.size() << " vectors of " << s.dims() << " values\n";
  return 0;
}

}  // namespace

void register_store_commands(CLI::App& app, Registry& reg) {
  auto e = std::make_shared<EmbedArgs>();
  auto* embed = app.add_subcommand("embed", "Embed a folder of face images (one sub-folder per person) into a store");
  embed->add_option("DIR", e->input, "Input folder: DIR/<person>/<image>; images directly in DIR are unlabelled")
      ->required();
  embed->add_option("-o,--output", e->output, "Store file to write (atomically)")->required()->check(not_a_folder());
  e->flags.add_to(*embed);
  reg.emplace_back(embed, [e] { return run_embed(*e); });

  auto i = std::make_shared<InspectArgs>();
  auto* inspect = app.add_subcommand("inspect", "Show a store's header, counts per label and integrity");
  inspect->add_option("STORE", i->store, "Store file")->required()->check(CLI::ExistingFile);
  inspect->add_flag("--json", i->json, "Print JSON instead of text");
  reg.emplace_back(inspect, [i] { return run_inspect(*i); });

  auto x = std::make_shared<ExportArgs>();
  auto* exp = app.add_subcommand("export", "Export a store's vectors for Python (numpy.load) and its labels as CSV");
  exp->add_option("STORE", x->store, "Store file")->required()->check(CLI::ExistingFile);
  exp->add_option("--npy", x->npy, "Write the n×N² vectors as a .npy file");
  exp->add_option("--labels", x->labels, "Write index,path,face_index,label_index,label as CSV");
  exp->add_option("--dtype", x->dtype, "f4: float32 pixel/255 (what the prototype computed); u1: raw bytes")
      ->check(CLI::IsMember({"f4", "u1"}))
      ->capture_default_str();
  reg.emplace_back(exp, [x] { return run_export(*x); });
}

}  // namespace lumaflow::cli
