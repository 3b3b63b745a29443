// FaceDescriptorNet: parity with face-api's own output (tests/fixtures/resnet_reference.json,
// made by tools/reference/descriptors.js on tfjs's CPU backend), identity quality on the tvshow
// faces, and clear errors for missing or damaged weight files.
//
// Real weights: $LUMAFLOW_MODELS or the build's default models folder (tools/setup.sh models).
// Absent → the tests that need them are skipped with a message, or FAIL when CI=true.
// Real faces: $LUMAFLOW_DATA/tvshow (default ../shared/data next to the source tree); absent →
// skipped. The damaged-file tests build a small valid model of their own and need neither.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "nodes/learned/resnet.hpp"

namespace fs = std::filesystem;
using lumaflow::FaceDescriptor;
using lumaflow::FaceDescriptorNet;

namespace {

constexpr double kTolerance = 1e-3;

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

// The shared net, loaded once; nullptr with the reason when the weights are not installed.
const FaceDescriptorNet* real_net(std::string& why) {
  static std::string reason;
  static const std::unique_ptr<FaceDescriptorNet> net = []() -> std::unique_ptr<FaceDescriptorNet> {
    try {
      return std::make_unique<FaceDescriptorNet>(FaceDescriptorNet::load(lumaflow::locate_models_dir()));
    } catch (const lumaflow::ModelsNotFound& e) {
      reason = e.what();
      return nullptr;
    }
  }();
  why = reason;
  return net.get();
}

#define REQUIRE_NET(var)                                                                          \
  std::string why_##var;                                                                          \
  const FaceDescriptorNet* var = real_net(why_##var);                                             \
  if (!var) {                                                                                     \
    if (in_ci()) FAIL() << "CI=true and the face recognition weights are missing: " << why_##var; \
    GTEST_SKIP() << why_##var;                                                                    \
  }

fs::path source_dir() { return fs::path(LUMAFLOW_SOURCE_DIR); }

fs::path tvshow_dir() {
  const char* env = std::getenv("LUMAFLOW_DATA");
  const fs::path data = env && *env ? fs::path(env) : source_dir() / ".." / "shared" / "data";
  std::error_code ec;
  return fs::is_directory(data / "tvshow", ec) ? data / "tvshow" : fs::path();
}

struct RefFace {
  std::string set, name;
  std::vector<double> descriptor;
};

const std::vector<RefFace>& reference() {
  static const std::vector<RefFace> faces = [] {
    const fs::path p = source_dir() / "tests" / "fixtures" / "resnet_reference.json";
    std::ifstream in(p);
    if (!in) throw std::runtime_error("cannot open " + p.string());
    const auto j = nlohmann::json::parse(in);
    std::vector<RefFace> out;
    for (const auto& f : j.at("faces"))
      out.push_back({f.at("set"), f.at("name"), f.at("descriptor").get<std::vector<double>>()});
    return out;
  }();
  return faces;
}

cv::Mat read_rgb(const fs::path& p) {
  const cv::Mat bgr = cv::imread(p.string(), cv::IMREAD_COLOR);
  if (bgr.empty()) throw std::runtime_error("cannot read " + p.string());
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

double max_abs_diff(const FaceDescriptor& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(static_cast<double>(a[i]) - b[i]));
  return m;
}

// Describes every reference face of a set; checks the parity of each. Returns the worst.
double check_parity(const FaceDescriptorNet& net, const std::string& set, const fs::path& root) {
  std::vector<cv::Mat> chips;
  std::vector<const RefFace*> refs;
  for (const auto& f : reference())
    if (f.set == set) {
      chips.push_back(read_rgb(root / f.name));
      refs.push_back(&f);
    }
  EXPECT_FALSE(chips.empty()) << "no '" << set << "' faces in the fixture";
  const auto got = net.describe(chips, 2);
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(refs[i]->descriptor.size(), 128u);
    const double d = max_abs_diff(got[i], refs[i]->descriptor);
    EXPECT_LE(d, kTolerance) << set << "/" << refs[i]->name;
    worst = std::max(worst, d);
  }
  std::cout << "[ parity   ] " << set << ": " << got.size() << " faces, max |diff| = " << worst << "\n";
  return worst;
}

}  // namespace

TEST(Resnet, FixtureIsFromFaceApi) {
  const fs::path p = source_dir() / "tests" / "fixtures" / "resnet_reference.json";
  std::ifstream in(p);
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j.at("package"), "@vladmandic/face-api@1.7.15");
  EXPECT_EQ(j.at("tfjs"), "4.22.0");
  EXPECT_EQ(j.at("backend"), "cpu");
  const auto n_generated =
      std::count_if(reference().begin(), reference().end(), [](const RefFace& f) { return f.set == "generated"; });
  EXPECT_GE(n_generated, 4);
}

TEST(Resnet, GeneratedColourFacesMatchFaceApi) {
  REQUIRE_NET(net);
  check_parity(*net, "generated", source_dir() / "tests" / "fixtures" / "resnet_inputs");
}

TEST(Resnet, TvshowFacesMatchFaceApi) {
  const fs::path tv = tvshow_dir();
  if (tv.empty())
    GTEST_SKIP()
        << "real data set 'tvshow' not found (set LUMAFLOW_DATA to the folder holding it; default ../shared/data)";
  REQUIRE_NET(net);
  check_parity(*net, "tvshow", tv);
}

TEST(Resnet, ChannelOrderMatters) {
  // The fixture's colour faces must tell RGB from BGR: feeding BGR moves the descriptor far
  // beyond the tolerance (guards against a silently swapped input convention).
  REQUIRE_NET(net);
  const auto& ref =
      *std::find_if(reference().begin(), reference().end(), [](const RefFace& f) { return f.set == "generated"; });
  const cv::Mat rgb = read_rgb(source_dir() / "tests" / "fixtures" / "resnet_inputs" / ref.name);
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  EXPECT_LE(max_abs_diff(net->describe(rgb), ref.descriptor), kTolerance);
  EXPECT_GT(max_abs_diff(net->describe(bgr), ref.descriptor), 20 * kTolerance);
}

TEST(Resnet, TvshowLeaveOneOutNearestNeighbour) {
  const fs::path tv = tvshow_dir();
  if (tv.empty()) GTEST_SKIP() << "real data set 'tvshow' not found (set LUMAFLOW_DATA)";
  REQUIRE_NET(net);
  std::vector<cv::Mat> chips;
  std::vector<std::string> who;
  for (const auto& person : fs::directory_iterator(tv)) {
    if (!person.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(person.path()))
      if (f.path().extension() == ".png") {
        chips.push_back(read_rgb(f.path()));
        who.push_back(person.path().filename().string());
      }
  }
  ASSERT_EQ(chips.size(), 40u);
  const auto d = net->describe(chips, 0);
  int correct = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    double best = INFINITY;
    size_t arg = i;
    for (size_t j = 0; j < d.size(); ++j) {
      if (j == i) continue;
      double s = 0;
      for (int k = 0; k < lumaflow::kDescriptorSize; ++k) s += double(d[i][k] - d[j][k]) * (d[i][k] - d[j][k]);
      if (s < best) best = s, arg = j;
    }
    correct += who[arg] == who[i];
  }
  const double acc = double(correct) / double(d.size());
  std::cout << "[ 1-NN LOO ] tvshow: " << correct << "/" << d.size() << " = " << acc << "\n";
  EXPECT_GE(acc, 0.95);
}

TEST(Resnet, BatchEqualsSingleAndIsThreadSafe) {
  REQUIRE_NET(net);
  std::vector<cv::Mat> chips;
  for (const auto& f : reference())
    if (f.set == "generated") chips.push_back(read_rgb(source_dir() / "tests" / "fixtures" / "resnet_inputs" / f.name));
  // A non-continuous chip (a ROI of a larger image) must work the same.
  cv::Mat big(200, 220, CV_8UC3, cv::Scalar(1, 2, 3));
  chips[0].copyTo(big(cv::Rect(30, 20, 150, 150)));
  chips.push_back(big(cv::Rect(30, 20, 150, 150)));
  std::vector<FaceDescriptor> single;
  for (const auto& c : chips) single.push_back(net->describe(c));
  EXPECT_EQ(single.back(), single.front());
  net->warm(3);  // engines built ahead (as watch does) give the same bits as the first one
  for (int threads : {1, 2, 3}) EXPECT_EQ(net->describe(chips, threads), single) << threads << " threads";
  EXPECT_TRUE(net->describe(std::vector<cv::Mat>{}, 2).empty());
}

TEST(Resnet, RejectsWrongInput) {
  REQUIRE_NET(net);
  EXPECT_THROW(net->describe(cv::Mat(150, 150, CV_8UC1, cv::Scalar(0))), std::invalid_argument);
  EXPECT_THROW(net->describe(cv::Mat(149, 150, CV_8UC3, cv::Scalar(0))), std::invalid_argument);
  EXPECT_THROW(net->describe(cv::Mat(150, 150, CV_32FC3, cv::Scalar(0))), std::invalid_argument);
  EXPECT_THROW(net->describe(cv::Mat()), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Damaged and missing files. A small valid model is written from scratch (random uint8 codes,
// one unquantised float32 tensor like face-api's conv64 filters), then broken one way at a time.

namespace {

class TempDir {
 public:
  TempDir() {
    std::mt19937_64 rng(std::random_device{}());
    path_ = fs::temp_directory_path() / ("lumaflow-resnet-" + std::to_string(rng()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct Spec {
  std::string name;
  std::vector<int> shape;
  bool quantized;
};

std::vector<Spec> network_specs() {
  std::vector<Spec> s;
  auto conv = [&](const std::string& p, int k, int cin, int cout, bool q_filters) {
    s.push_back({p + "/conv/filters", {k, k, cin, cout}, q_filters});
    s.push_back({p + "/conv/bias", {cout}, true});
    s.push_back({p + "/scale/weights", {cout}, true});
    s.push_back({p + "/scale/biases", {cout}, true});
  };
  conv("conv32_down", 7, 3, 32, true);
  const struct {
    const char* n;
    int cin, cout;
  } blocks[] = {{"conv32_1", 32, 32},    {"conv32_2", 32, 32},          {"conv32_3", 32, 32},
                {"conv64_down", 32, 64}, {"conv64_1", 64, 64},          {"conv64_2", 64, 64},
                {"conv64_3", 64, 64},    {"conv128_down", 64, 128},     {"conv128_1", 128, 128},
                {"conv128_2", 128, 128}, {"conv256_down", 128, 256},    {"conv256_1", 256, 256},
                {"conv256_2", 256, 256}, {"conv256_down_out", 256, 256}};
  for (const auto& b : blocks) {
    const bool raw = std::string(b.n) == "conv64_1";  // one float32 tensor pair, as in face-api's file
    conv(std::string(b.n) + "/conv1", 3, b.cin, b.cout, !raw);
    conv(std::string(b.n) + "/conv2", 3, b.cout, b.cout, true);
  }
  s.push_back({"fc", {256, 128}, true});
  return s;
}

nlohmann::json make_manifest(const std::vector<Spec>& specs) {
  nlohmann::json weights = nlohmann::json::array();
  for (const auto& s : specs) {
    nlohmann::json w = {{"name", s.name}, {"shape", s.shape}, {"dtype", "float32"}};
    if (s.quantized) w["quantization"] = {{"dtype", "uint8"}, {"scale", 0.0004}, {"min", -0.05}};
    weights.push_back(w);
  }
  return nlohmann::json::array({{{"paths", {lumaflow::kResnetWeights}}, {"weights", weights}}});
}

std::vector<char> make_bin(const std::vector<Spec>& specs) {
  std::mt19937 rng(7);
  std::vector<char> bin;
  for (const auto& s : specs) {
    size_t n = 1;
    for (int d : s.shape) n *= d;
    for (size_t i = 0; i < n; ++i) {
      if (s.quantized) {
        bin.push_back(static_cast<char>(rng() & 0xff));
      } else {
        const float v = (static_cast<float>(rng() % 1000) - 500.f) * 1e-5f;
        const char* b = reinterpret_cast<const char*>(&v);
        bin.insert(bin.end(), b, b + 4);
      }
    }
  }
  return bin;
}

void write_model(const fs::path& dir, const nlohmann::json& manifest, const std::vector<char>& bin) {
  std::ofstream(dir / lumaflow::kResnetManifest) << manifest.dump();
  std::ofstream(dir / lumaflow::kResnetWeights, std::ios::binary)
      .write(bin.data(), static_cast<std::streamsize>(bin.size()));
}

// Loading must throw std::runtime_error (not crash, not ModelsNotFound) naming every needle.
void expect_load_error(const fs::path& dir, const std::vector<std::string>& needles) {
  try {
    FaceDescriptorNet::load(dir);
    ADD_FAILURE() << "load() accepted a damaged model";
  } catch (const lumaflow::ModelsNotFound& e) {
    ADD_FAILURE() << "damaged files reported as missing: " << e.what();
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    std::cout << "[ message  ] " << msg << "\n";
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  }
}

}  // namespace

TEST(ResnetFiles, SyntheticModelLoadsAndRuns) {
  TempDir t;
  const auto specs = network_specs();
  write_model(t.path(), make_manifest(specs), make_bin(specs));
  const auto net = FaceDescriptorNet::load(t.path());
  const auto d = net.describe(cv::Mat(150, 150, CV_8UC3, cv::Scalar(90, 140, 200)));
  for (float v : d) EXPECT_TRUE(std::isfinite(v));
}

TEST(ResnetFiles, DamagedFilesGiveClearErrors) {
  const auto specs = network_specs();
  const auto good_manifest = make_manifest(specs);
  const auto good_bin = make_bin(specs);
  {
    SCOPED_TRACE("truncated .bin");
    TempDir t;
    write_model(t.path(), good_manifest, std::vector<char>(good_bin.begin(), good_bin.end() - 1000));
    expect_load_error(t.path(), {(t.path() / lumaflow::kResnetWeights).string(), "'fc'", "truncated"});
  }
  {
    SCOPED_TRACE("empty .bin");
    TempDir t;
    write_model(t.path(), good_manifest, {});
    expect_load_error(t.path(), {lumaflow::kResnetWeights, "'conv32_down/conv/filters'"});
  }
  {
    SCOPED_TRACE("trailing bytes");
    TempDir t;
    auto bin = good_bin;
    bin.resize(bin.size() + 16, 0);
    write_model(t.path(), good_manifest, bin);
    expect_load_error(t.path(), {lumaflow::kResnetWeights, "16 bytes more"});
  }
  {
    SCOPED_TRACE("manifest not JSON");
    TempDir t;
    write_model(t.path(), good_manifest, good_bin);
    std::ofstream(t.path() / lumaflow::kResnetManifest) << good_manifest.dump().substr(0, 500);
    expect_load_error(t.path(), {(t.path() / lumaflow::kResnetManifest).string(), "not valid JSON"});
  }
  {
    SCOPED_TRACE("manifest of the wrong form");
    TempDir t;
    write_model(t.path(), nlohmann::json{{"weights", 1}}, good_bin);
    expect_load_error(t.path(), {lumaflow::kResnetManifest, "array"});
  }
  {
    SCOPED_TRACE("wrong shape");
    TempDir t;
    auto m = good_manifest;
    m[0]["weights"][4]["shape"] = {3, 3, 32, 16};
    write_model(t.path(), m, good_bin);
    expect_load_error(t.path(),
                      {lumaflow::kResnetManifest, "'conv32_1/conv1/conv/filters'", "[3,3,32,16]", "[3,3,32,32]"});
  }
  {
    SCOPED_TRACE("missing tensor");
    TempDir t;
    auto m = good_manifest;
    m[0]["weights"].erase(m[0]["weights"].size() - 1);  // fc
    auto bin = good_bin;
    bin.resize(bin.size() - 256 * 128);
    write_model(t.path(), m, bin);
    expect_load_error(t.path(), {lumaflow::kResnetManifest, "'fc'", "missing"});
  }
  {
    SCOPED_TRACE("renamed tensor");
    TempDir t;
    auto m = good_manifest;
    m[0]["weights"][1]["name"] = "conv32_down/conv/biass";
    write_model(t.path(), m, good_bin);
    expect_load_error(t.path(), {lumaflow::kResnetManifest, "'conv32_down/conv/biass'"});
  }
  {
    SCOPED_TRACE("unknown quantisation");
    TempDir t;
    auto m = good_manifest;
    m[0]["weights"][0]["quantization"]["dtype"] = "int4";
    write_model(t.path(), m, good_bin);
    expect_load_error(t.path(), {lumaflow::kResnetManifest, "'conv32_down/conv/filters'", "int4"});
  }
  {
    SCOPED_TRACE("quantisation without scale");
    TempDir t;
    auto m = good_manifest;
    m[0]["weights"][2]["quantization"].erase("scale");
    write_model(t.path(), m, good_bin);
    expect_load_error(t.path(), {lumaflow::kResnetManifest, "'conv32_down/scale/weights'", "scale"});
  }
  {
    SCOPED_TRACE("NaN in a float32 tensor");
    TempDir t;
    auto bin = good_bin;
    size_t offset = 0;  // the first unquantised tensor
    for (const auto& s : specs) {
      size_t n = 1;
      for (int d : s.shape) n *= d;
      if (!s.quantized) break;
      offset += n;
    }
    const float nan = std::nanf("");
    std::memcpy(bin.data() + offset + 4 * 10, &nan, 4);
    write_model(t.path(), good_manifest, bin);
    expect_load_error(t.path(), {lumaflow::kResnetWeights, "'conv64_1/conv1/conv/filters'", "not finite"});
  }
  {
    SCOPED_TRACE("shard path leaving the folder");
    TempDir t;
    auto m = good_manifest;
    m[0]["paths"] = {"../face_recognition_model.bin"};
    write_model(t.path(), m, good_bin);
    expect_load_error(t.path(), {lumaflow::kResnetManifest, "plain file name"});
  }
}

TEST(ResnetFiles, DamagedRealBinGivesClearError) {
  std::string why;
  const FaceDescriptorNet* net = real_net(why);
  if (!net) GTEST_SKIP() << why;
  TempDir t;
  fs::copy_file(net->models_dir() / lumaflow::kResnetManifest, t.path() / lumaflow::kResnetManifest);
  fs::copy_file(net->models_dir() / lumaflow::kResnetWeights, t.path() / lumaflow::kResnetWeights);
  fs::resize_file(t.path() / lumaflow::kResnetWeights, fs::file_size(t.path() / lumaflow::kResnetWeights) / 2);
  expect_load_error(t.path(), {(t.path() / lumaflow::kResnetWeights).string(), "truncated"});
}

TEST(ResnetFiles, MissingFilesNameTheSetupCommand) {
  TempDir t;
  try {
    FaceDescriptorNet::load(t.path());
    ADD_FAILURE() << "load() of an empty folder succeeded";
  } catch (const lumaflow::ModelsNotFound& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(t.path().string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("tools/setup.sh models"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
  }
  EXPECT_THROW(lumaflow::locate_models_dir(t.path().string()), lumaflow::ModelsNotFound);
}

TEST(ResnetFiles, ModelsDirPrecedence) {
  TempDir a, b;
  const auto specs = network_specs();
  write_model(a.path(), make_manifest(specs), make_bin(specs));
  write_model(b.path(), make_manifest(specs), make_bin(specs));
  const char* old = std::getenv("LUMAFLOW_MODELS");
  const std::string saved = old ? old : "";
  setenv("LUMAFLOW_MODELS", b.path().c_str(), 1);
  EXPECT_EQ(lumaflow::locate_models_dir(a.path().string()), a.path());  // --models wins
  EXPECT_EQ(lumaflow::locate_models_dir(), b.path());                   // then the environment
  setenv("LUMAFLOW_MODELS", "", 1);
  try {
    EXPECT_EQ(lumaflow::locate_models_dir(), fs::path(LUMAFLOW_MODELS_DEFAULT));  // then the default
  } catch (const lumaflow::ModelsNotFound& e) {
    EXPECT_NE(std::string(e.what()).find(LUMAFLOW_MODELS_DEFAULT), std::string::npos) << e.what();
  }
  if (old)
    setenv("LUMAFLOW_MODELS", saved.c_str(), 1);
  else
    unsetenv("LUMAFLOW_MODELS");
}
