// Writes the fuzzers' seed corpus, small files made at run time rather than committed:
//   OUT/store/  pixel and learned stores (several segments each)
//   OUT/model/  a fitted model, framed (format 2) and as its bare FlatBuffer (format 1 layout)
//   OUT/decode/ a 16×16 picture in every format the decoder probes
// Usage: make_seeds OUT
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <vector>

#include "nodes/model/model.hpp"
#include "nodes/store/frame.hpp"
#include "nodes/store/store.hpp"

using namespace lumaflow;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& p, const std::vector<uint8_t>& b) {
  std::ofstream(p, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

EmbeddingStore pixel_store(int side, int people, int per, uint64_t seed) {
  StoreHeader h;
  h.prep.image_size = side;
  h.created_by = "make_seeds";
  EmbeddingStore s(h);
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> px(static_cast<size_t>(side * side));
  for (int p = 0; p < people; ++p) {
    const int label = s.label_index("p" + std::to_string(p));
    for (int i = 0; i < per; ++i) {
      for (size_t k = 0; k < px.size(); ++k)
        px[k] = static_cast<uint8_t>((p * 80 + static_cast<int>(k) * 3 + static_cast<int>(rng() % 20)) & 0xFF);
      RecordInfo r;
      r.path = "p" + std::to_string(p) + "/" + std::to_string(i) + ".png";
      r.label = label;
      r.source_width = r.source_height = static_cast<uint32_t>(side);
      r.content_hash = rng();
      if (i == 0) r.box = FaceBox{1, 2, 3, 4};
      s.add(r, px.data(), px.size());
    }
  }
  return s;
}

EmbeddingStore learned_store(uint64_t seed) {
  StoreHeader h;
  h.prep.embedding = "resnet";
  h.prep.dims = 8;
  h.prep.embedding_model = "seed";
  h.thumbnail_size = 4;
  h.thumbnail_channels = 1;
  EmbeddingStore s(h);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g;
  for (int i = 0; i < 6; ++i) {
    float v[8];
    for (float& x : v) x = g(rng);
    uint8_t thumb[16];
    for (uint8_t& t : thumb) t = static_cast<uint8_t>(rng());
    RecordInfo r;
    r.path = "q/" + std::to_string(i) + ".jpg";
    r.label = s.label_index(i % 2 ? "a" : "b");
    s.add(r, v, 8, thumb, sizeof thumb);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds OUT\n";
    return 2;
  }
  const fs::path out = argv[1];
  for (const char* d : {"store", "model", "decode"}) fs::create_directories(out / d);

  const EmbeddingStore px = pixel_store(8, 3, 4, 1);
  write_store(out / "store" / "pixels.store", px, 3 * 64);  // 4 segments of 3 records
  write_store(out / "store" / "learned.store", learned_store(2), 2 * 8 * sizeof(float));

  ModelOptions mo;
  mo.pca_components = 4;
  mo.umap.n_neighbors = 4;
  mo.umap.n_epochs = 20;
  mo.knn_k = 3;
  mo.min_faces = 2;
  for (ClassifySpace space : {ClassifySpace::pca, ClassifySpace::umapN}) {
    mo.space = space;
    mo.umapn_components = 3;
    const std::string name = classify_space_name(space);
    const fs::path model = out / "model" / (name + ".model");
    save_model(model, fit_model(px, mo));
    const auto framed = read_all(model);
    const auto frame = read_frame(kModelMagic, framed.data(), framed.size());
    if (!frame) return 1;
    write_all(out / "model" / (name + ".fb"), std::vector<uint8_t>(frame->payload, frame->payload + frame->size));
  }

  cv::Mat colour(16, 16, CV_8UC3), grey(16, 16, CV_8UC1);
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x) {
      colour.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(x * 16), static_cast<uint8_t>(y * 16), 90);
      grey.at<uint8_t>(y, x) = static_cast<uint8_t>((x ^ y) * 16);
    }
  int images = 0;
  for (const char* ext : {".jpg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".webp"}) {
    std::vector<uchar> buf;
    const cv::Mat& img = std::string(ext) == ".pgm" ? grey : colour;
    try {
      if (!cv::imencode(ext, img, buf)) continue;
    } catch (const cv::Exception&) {
      continue;
    }
    write_all(out / "decode" / (std::string("seed") + ext), buf);
    ++images;
  }
  std::cout << "make_seeds: 2 stores, 4 models, " << images << " images in " << out.string() << "\n";
  return 0;
}
