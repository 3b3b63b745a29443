#include "nodes/learned/resnet.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/dnn.hpp>

#ifndef LUMAFLOW_MODELS_DEFAULT
#define LUMAFLOW_MODELS_DEFAULT "models"
#endif

namespace lumaflow {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// The expected tensors: names and shapes as face-api's extractParamsFromWeightMap reads them.

namespace {

struct BlockSpec {
  const char* name;
  int cin, cout;
  bool down;  // first conv 3×3/2 valid + pooled shortcut; otherwise both convs 3×3/1 same
};

constexpr BlockSpec kBlocks[] = {
    {"conv32_1", 32, 32, false},    {"conv32_2", 32, 32, false},          {"conv32_3", 32, 32, false},
    {"conv64_down", 32, 64, true},  {"conv64_1", 64, 64, false},          {"conv64_2", 64, 64, false},
    {"conv64_3", 64, 64, false},    {"conv128_down", 64, 128, true},      {"conv128_1", 128, 128, false},
    {"conv128_2", 128, 128, false}, {"conv256_down", 128, 256, true},     {"conv256_1", 256, 256, false},
    {"conv256_2", 256, 256, false}, {"conv256_down_out", 256, 256, true},
};

constexpr int kStemK = 7, kStemOut = 32, kFcIn = 256;
constexpr float kMeanRgb[3] = {122.782f, 117.001f, 104.298f};

void add_conv_specs(std::map<std::string, std::vector<int>>& m, const std::string& prefix, int k, int cin, int cout) {
  m[prefix + "/conv/filters"] = {k, k, cin, cout};
  m[prefix + "/conv/bias"] = {cout};
  m[prefix + "/scale/weights"] = {cout};
  m[prefix + "/scale/biases"] = {cout};
}

const std::map<std::string, std::vector<int>>& expected_tensors() {
  static const auto table = [] {
    std::map<std::string, std::vector<int>> m;
    add_conv_specs(m, "conv32_down", kStemK, 3, kStemOut);
    for (const auto& b : kBlocks) {
      add_conv_specs(m, std::string(b.name) + "/conv1", 3, b.cin, b.cout);
      add_conv_specs(m, std::string(b.name) + "/conv2", 3, b.cout, b.cout);
    }
    m["fc"] = {kFcIn, kDescriptorSize};
    return m;
  }();
  return table;
}

std::string shape_str(const std::vector<int>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

[[noreturn]] void fail(const fs::path& file, const std::string& what) {
  throw std::runtime_error(file.string() + ": " + what);
}

std::vector<char> read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) fail(p, "cannot open");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(p, "read error");
  return bytes;
}

}  // namespace

fs::path locate_models_dir(const std::string& cli_value) {
  fs::path dir;
  if (!cli_value.empty()) {
    dir = cli_value;
  } else if (const char* env = std::getenv("LUMAFLOW_MODELS"); env && *env) {
    dir = env;
  } else {
    dir = LUMAFLOW_MODELS_DEFAULT;
  }
  for (const char* f : {kResnetManifest, kResnetWeights}) {
    std::error_code ec;
    if (!fs::is_regular_file(dir / f, ec))
      throw ModelsNotFound("face recognition weights not found in " + dir.string() + " (missing " + f +
                           "); run tools/setup.sh models");
  }
  return dir;
}

std::map<std::string, ResnetTensor> read_resnet_tensors(const fs::path& dir) {
  const fs::path manifest_path = dir / kResnetManifest;
  for (const char* f : {kResnetManifest, kResnetWeights}) {
    std::error_code ec;
    if (!fs::is_regular_file(dir / f, ec))
      throw ModelsNotFound("face recognition weights not found in " + dir.string() + " (missing " + f +
                           "); run tools/setup.sh models");
  }

  nlohmann::json manifest;
  {
    const auto text = read_all(manifest_path);
    try {
      manifest = nlohmann::json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::exception& e) {
      fail(manifest_path, std::string("not valid JSON (") + e.what() + ")");
    }
  }
  if (!manifest.is_array() || manifest.empty()) fail(manifest_path, "expected a non-empty array of weight groups");

  // The groups' shards, concatenated in manifest order, are one byte stream (tfjs's layout);
  // face-api ships a single group with a single shard.
  std::vector<std::pair<std::string, std::vector<char>>> shards;
  std::vector<std::pair<std::string, nlohmann::json>> specs;  // name → spec, in stream order
  for (const auto& group : manifest) {
    if (!group.is_object() || !group.contains("paths") || !group["paths"].is_array() || !group.contains("weights") ||
        !group["weights"].is_array())
      fail(manifest_path, "each weight group needs 'paths' and 'weights' arrays");
    for (const auto& p : group["paths"]) {
      if (!p.is_string()) fail(manifest_path, "a shard path is not a string");
      const std::string name = p.get<std::string>();
      // Shards live beside the manifest; a path that leaves the folder is refused.
      if (name.empty() || name.find('/') != std::string::npos || name.find('\\') != std::string::npos || name == "..")
        fail(manifest_path, "shard path '" + name + "' is not a plain file name");
      std::error_code ec;
      if (!fs::is_regular_file(dir / name, ec))
        throw ModelsNotFound("face recognition weights not found in " + dir.string() + " (missing " + name +
                             "); run tools/setup.sh models");
      shards.emplace_back((dir / name).string(), read_all(dir / name));
    }
    for (const auto& w : group["weights"]) {
      if (!w.is_object() || !w.contains("name") || !w["name"].is_string())
        fail(manifest_path, "a weight entry has no 'name'");
      specs.emplace_back(w["name"].get<std::string>(), w);
    }
  }
  std::vector<char> stream;
  for (auto& [_, bytes] : shards) stream.insert(stream.end(), bytes.begin(), bytes.end());
  const std::string bin_name = shards.size() == 1 ? shards[0].first : (dir / kResnetWeights).string();

  const auto& expected = expected_tensors();
  std::map<std::string, ResnetTensor> out;
  size_t offset = 0;
  for (const auto& [name, w] : specs) {
    const std::string where = "tensor '" + name + "'";
    const auto it = expected.find(name);
    if (it == expected.end()) fail(manifest_path, where + " is not part of the face recognition network");
    if (out.count(name)) fail(manifest_path, where + " appears twice");
    if (!w.contains("dtype") || w["dtype"] != "float32") fail(manifest_path, where + ": dtype must be float32");
    if (!w.contains("shape") || !w["shape"].is_array()) fail(manifest_path, where + ": no 'shape' array");
    std::vector<int> shape;
    for (const auto& d : w["shape"]) {
      if (!d.is_number_integer() || d.get<long long>() < 0 || d.get<long long>() > (1 << 20))
        fail(manifest_path, where + ": bad shape entry " + d.dump());
      shape.push_back(d.get<int>());
    }
    if (shape != it->second)
      fail(manifest_path, where + ": shape " + shape_str(shape) + ", expected " + shape_str(it->second));
    size_t count = 1;
    for (int d : shape) count *= static_cast<size_t>(d);

    // Per tensor: raw float32, or uint8/uint16 codes with value = q·scale + min.
    int bytes_per = 4;
    double scale = 0, minv = 0;
    if (w.contains("quantization")) {
      const auto& q = w["quantization"];
      if (!q.is_object() || !q.contains("dtype") || !q["dtype"].is_string())
        fail(manifest_path, where + ": malformed 'quantization'");
      const std::string qt = q["dtype"].get<std::string>();
      if (qt == "uint8")
        bytes_per = 1;
      else if (qt == "uint16")
        bytes_per = 2;
      else
        fail(manifest_path, where + ": unsupported quantization dtype '" + qt + "' (uint8 or uint16)");
      if (!q.contains("scale") || !q["scale"].is_number() || !q.contains("min") || !q["min"].is_number())
        fail(manifest_path, where + ": quantization needs numeric 'scale' and 'min'");
      scale = q["scale"].get<double>();
      minv = q["min"].get<double>();
    }
    const size_t nbytes = count * static_cast<size_t>(bytes_per);
    if (offset + nbytes > stream.size())
      fail(bin_name, where + " needs bytes " + std::to_string(offset) + ".." + std::to_string(offset + nbytes) +
                         " but the file has " + std::to_string(stream.size()) + " (truncated?)");
    ResnetTensor t;
    t.shape = shape;
    t.values.resize(count);
    const auto* src = reinterpret_cast<const unsigned char*>(stream.data() + offset);
    // tfjs computes q * scale + min in double and stores it in a Float32Array.
    if (bytes_per == 1) {
      for (size_t i = 0; i < count; ++i) t.values[i] = static_cast<float>(src[i] * scale + minv);
    } else if (bytes_per == 2) {
      for (size_t i = 0; i < count; ++i) {
        uint16_t q;
        std::memcpy(&q, src + 2 * i, 2);  // little-endian, as tfjs's Uint16Array on x86/ARM
        t.values[i] = static_cast<float>(q * scale + minv);
      }
    } else {
      std::memcpy(t.values.data(), src, nbytes);
    }
    for (size_t i = 0; i < count; ++i)
      if (!std::isfinite(t.values[i])) fail(bin_name, where + ": value " + std::to_string(i) + " is not finite");
    offset += nbytes;
    out.emplace(name, std::move(t));
  }
  for (const auto& [name, shape] : expected)
    if (!out.count(name)) fail(manifest_path, "tensor '" + name + "' " + shape_str(shape) + " is missing");
  if (offset != stream.size())
    fail(bin_name, std::to_string(stream.size() - offset) + " bytes more than the manifest's tensors need (" +
                       std::to_string(offset) + ")");
  return out;
}

// ---------------------------------------------------------------------------------------------
// Inference: the network as an OpenCV DNN graph built in code from the dequantised tensors
// (Convolution + Scale [+ ReLU], Eltwise sum, Pooling, Padding, InnerProduct; OpenCV folds the
// scale and ReLU into the convolutions). OpenCV picks its SIMD kernels at run time (AVX, AVX2,
// AVX-512 where the CPU has them), which a portable -O2 build of our own GEMM cannot: that is
// why this beat an Eigen im2col + GEMM port by ≈ 1.8× per face (NOTES.md).
//
// cv::dnn::Net::forward() mutates the net (blobs, lazy initialisation), so a net serves one
// thread at a time: the shared Model keeps a pool of built nets ("engines") and each call leases
// one, building another only when all are busy. The pool grows to the number of concurrent
// callers; each engine holds its own copy of the weights (≈ 45 MB resident).

namespace {

class NetBuilder {
 public:
  NetBuilder(cv::dnn::Net& net, const std::map<std::string, ResnetTensor>& t) : net_(net), t_(t) {}

  int add(const std::string& name, const std::string& type, cv::dnn::LayerParams& p, const std::vector<int>& inputs) {
    p.name = name;
    p.type = type;
    const int id = net_.addLayer(name, type, p);
    for (size_t i = 0; i < inputs.size(); ++i) net_.connect(inputs[i], 0, id, static_cast<int>(i));
    return id;
  }

  // Convolution + bias, then the scale layer, then ReLU if asked. Stride 1 = TF 'same' (k/2 on
  // every side), stride 2 = TF 'valid' (none): the only two the network uses.
  int conv(const std::string& prefix, int input, int stride, bool relu) {
    const ResnetTensor& f = t_.at(prefix + "/conv/filters");
    const int k = f.shape[0], cin = f.shape[2], cout = f.shape[3];
    // TF.js [kh][kw][in][out] → OpenCV [out][in][kh][kw].
    cv::Mat w({cout, cin, k, k}, CV_32F);
    float* wp = w.ptr<float>();
    for (int ky = 0; ky < k; ++ky)
      for (int kx = 0; kx < k; ++kx)
        for (int i = 0; i < cin; ++i)
          for (int o = 0; o < cout; ++o)
            wp[((static_cast<size_t>(o) * cin + i) * k + ky) * k + kx] =
                f.values[((static_cast<size_t>(ky) * k + kx) * cin + i) * cout + o];
    cv::dnn::LayerParams p;
    p.set("kernel_size", k);
    p.set("stride", stride);
    p.set("pad", stride == 1 ? k / 2 : 0);
    p.set("num_output", cout);
    p.set("bias_term", true);
    p.blobs = {w, row(prefix + "/conv/bias")};
    int id = add(prefix + "/conv", "Convolution", p, {input});
    cv::dnn::LayerParams s;
    s.set("bias_term", true);
    s.blobs = {row(prefix + "/scale/weights"), row(prefix + "/scale/biases")};
    id = add(prefix + "/scale", "Scale", s, {id});
    if (relu) {
      cv::dnn::LayerParams r;
      id = add(prefix + "/relu", "ReLU", r, {id});
    }
    return id;
  }

  // k×k/2 pooling with TF 'valid' output size (floor; OpenCV's default is Caffe's ceil).
  int pool(const std::string& name, const char* kind, int k, int input) {
    cv::dnn::LayerParams p;
    p.set("pool", kind);
    p.set("kernel_size", k);
    p.set("stride", 2);
    p.set("ceil_mode", false);
    return add(name, "Pooling", p, {input});
  }

  // Zeros appended after the existing channels / rows / columns (NCHW).
  int pad(const std::string& name, int input, int channels_after, int hw_after) {
    cv::dnn::LayerParams p;
    const int pads[8] = {0, 0, 0, channels_after, 0, hw_after, 0, hw_after};
    p.set("paddings", cv::dnn::DictValue::arrayInt(pads, 8));
    return add(name, "Padding", p, {input});
  }

  int sum_relu(const std::string& name, int a, int b) {
    cv::dnn::LayerParams p;
    p.set("operation", "sum");
    const int id = add(name, "Eltwise", p, {a, b});
    cv::dnn::LayerParams r;
    return add(name + "/relu", "ReLU", r, {id});
  }

  cv::Mat row(const std::string& name) const {
    const auto& v = t_.at(name).values;
    return cv::Mat(1, static_cast<int>(v.size()), CV_32F, const_cast<float*>(v.data())).clone();
  }

 private:
  cv::dnn::Net& net_;
  const std::map<std::string, ResnetTensor>& t_;
};

std::unique_ptr<cv::dnn::Net> build_net(const std::map<std::string, ResnetTensor>& t) {
  auto net = std::make_unique<cv::dnn::Net>();
  net->setInputsNames({"rgb"});
  NetBuilder b(*net, t);
  int x = b.conv("conv32_down", 0, 2, true);
  int hw = (kDescriptorChip - kStemK) / 2 + 1;  // 72
  x = b.pool("conv32_down/maxpool", "max", 3, x);
  hw = (hw - 3) / 2 + 1;  // 35
  for (const auto& s : kBlocks) {
    const std::string n = s.name;
    int y = b.conv(n + "/conv1", x, s.down ? 2 : 1, true);
    y = b.conv(n + "/conv2", y, 1, false);
    if (!s.down) {
      x = b.sum_relu(n + "/add", y, x);
      continue;
    }
    // Shortcut: 2×2/2 average pool, zero channels up to cout. Where the strided conv's map is
    // one smaller than the pooled one (8 → 3 vs 4, 4 → 1 vs 2) face-api appends a zero row and
    // column to the conv branch.
    int p = b.pool(n + "/avgpool", "ave", 2, x);
    if (s.cout != s.cin) p = b.pad(n + "/zero_channels", p, s.cout - s.cin, 0);
    const int conv_hw = (hw - 3) / 2 + 1, pool_hw = (hw - 2) / 2 + 1;
    if (conv_hw != pool_hw) y = b.pad(n + "/zero_rows", y, 0, pool_hw - conv_hw);
    x = b.sum_relu(n + "/add", p, y);
    hw = pool_hw;
  }
  cv::dnn::LayerParams g;
  g.set("pool", "ave");
  g.set("global_pooling", true);
  x = b.add("global_avgpool", "Pooling", g, {x});
  // fc is [256][128] (x·W); InnerProduct wants [128][256] (W·x).
  const auto& fc = t.at("fc").values;
  cv::Mat w(kDescriptorSize, kFcIn, CV_32F);
  for (int i = 0; i < kFcIn; ++i)
    for (int j = 0; j < kDescriptorSize; ++j) w.at<float>(j, i) = fc[static_cast<size_t>(i) * kDescriptorSize + j];
  cv::dnn::LayerParams f;
  f.set("num_output", kDescriptorSize);
  f.set("bias_term", false);
  f.blobs = {w};
  b.add("fc", "InnerProduct", f, {x});
  net->setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net->setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  return net;
}

void check_chip(const cv::Mat& rgb) {
  if (rgb.type() != CV_8UC3 || rgb.rows != kDescriptorChip || rgb.cols != kDescriptorChip)
    throw std::invalid_argument("FaceDescriptorNet::describe: need a 150x150 CV_8UC3 RGB chip, got " +
                                std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) + " type " +
                                std::to_string(rgb.type()));
}

// One chip per forward pass. Batching (an N×3×150×150 blob) saves ≈ 13% but OpenCV then sums
// in a batch-size-dependent order, so a face's descriptor would depend on which faces shared its
// batch; one at a time keeps describe(chips, threads)[i] == describe(chips[i]) bit for bit.
FaceDescriptor forward(cv::dnn::Net& net, const cv::Mat& rgb) {
  cv::Mat blob({1, 3, kDescriptorChip, kDescriptorChip}, CV_32F);
  constexpr size_t plane = static_cast<size_t>(kDescriptorChip) * kDescriptorChip;
  float* dst = blob.ptr<float>();
  for (int y = 0; y < kDescriptorChip; ++y) {
    const uint8_t* p = rgb.ptr<uint8_t>(y);
    for (int x = 0; x < kDescriptorChip; ++x)
      for (int c = 0; c < 3; ++c)
        // face-api: (float(v) − mean) / 255, in float; planar (NCHW) for OpenCV.
        dst[c * plane + static_cast<size_t>(y) * kDescriptorChip + x] =
            (static_cast<float>(p[3 * x + c]) - kMeanRgb[c]) / 255.f;
  }
  net.setInput(blob);
  const cv::Mat result = net.forward();
  FaceDescriptor out;
  std::memcpy(out.data(), result.ptr<float>(), sizeof(float) * kDescriptorSize);
  return out;
}

}  // namespace

struct FaceDescriptorNet::Model {
  std::map<std::string, ResnetTensor> tensors;  // what every engine is built from
  mutable std::mutex mu;
  mutable std::vector<std::unique_ptr<cv::dnn::Net>> idle;
};

namespace {

// One engine for the duration of a call; back to the pool afterwards.
class Lease {
 public:
  Lease(const std::map<std::string, ResnetTensor>& tensors, std::mutex& mu,
        std::vector<std::unique_ptr<cv::dnn::Net>>& idle)
      : mu_(mu), idle_(idle) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        net_ = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (!net_) net_ = build_net(tensors);
  }
  ~Lease() {
    try {
      std::lock_guard<std::mutex> lock(mu_);
      idle_.push_back(std::move(net_));
    } catch (...) {
      // Out of memory while returning it: the engine is dropped, the next call builds another.
    }
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  cv::dnn::Net& net() { return *net_; }

 private:
  std::mutex& mu_;
  std::vector<std::unique_ptr<cv::dnn::Net>>& idle_;
  std::unique_ptr<cv::dnn::Net> net_;
};

}  // namespace

FaceDescriptorNet FaceDescriptorNet::load(const fs::path& models_dir) {
  auto m = std::make_shared<Model>();
  m->tensors = read_resnet_tensors(models_dir);
  // One engine up front, run once: the first forward pass does OpenCV's lazy set-up (layer
  // fusion, weight packing), which should cost at load time, not on the first face.
  auto net = build_net(m->tensors);
  forward(*net, cv::Mat(kDescriptorChip, kDescriptorChip, CV_8UC3, cv::Scalar::all(128)));
  m->idle.push_back(std::move(net));
  return FaceDescriptorNet(std::move(m), models_dir);
}

void FaceDescriptorNet::warm(int engines) const {
  const Model& m = *model_;
  size_t idle = 0;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    idle = m.idle.size();
  }
  std::vector<std::unique_ptr<cv::dnn::Net>> built;
  for (size_t k = idle; k < static_cast<size_t>(std::max(engines, 0)); ++k) {
    auto net = build_net(m.tensors);
    forward(*net, cv::Mat(kDescriptorChip, kDescriptorChip, CV_8UC3, cv::Scalar::all(128)));
    built.push_back(std::move(net));
  }
  std::lock_guard<std::mutex> lock(m.mu);
  for (auto& net : built) m.idle.push_back(std::move(net));
}

FaceDescriptor FaceDescriptorNet::describe(const cv::Mat& rgb) const {
  check_chip(rgb);
  const Model& m = *model_;
  Lease lease(m.tensors, m.mu, m.idle);
  return forward(lease.net(), rgb);
}

std::vector<FaceDescriptor> FaceDescriptorNet::describe(const std::vector<cv::Mat>& chips, int threads) const {
  for (const auto& c : chips) check_chip(c);
  const Model& m = *model_;
  std::vector<FaceDescriptor> out(chips.size());
  const ptrdiff_t n = static_cast<ptrdiff_t>(chips.size());
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int t = static_cast<int>(std::min<ptrdiff_t>(threads, n));
  // Each worker takes a contiguous share and runs it through its own engine.
  const auto work = [&](ptrdiff_t begin, ptrdiff_t end) {
    Lease lease(m.tensors, m.mu, m.idle);
    for (ptrdiff_t i = begin; i < end; ++i) out[i] = forward(lease.net(), chips[i]);
  };
  if (t <= 1) {
    if (n > 0) work(0, n);
    return out;
  }
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(t));
  for (int w = 0; w < t; ++w)
    pool.emplace_back([&, w] {
      try {
        work(n * w / t, n * (w + 1) / t);
      } catch (...) {
        errors[static_cast<size_t>(w)] = std::current_exception();
      }
    });
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return out;
}

}  // namespace lumaflow
