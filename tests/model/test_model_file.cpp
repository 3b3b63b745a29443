// The model file: checksummed, refused with one line when damaged, format 1 still read.
#include <gtest/gtest.h>

#include <random>

#include "classifications.hpp"
#include "nodes/model/model.hpp"
#include "nodes/store/frame.hpp"
#include "test_util.hpp"

using namespace lumaflow;

namespace {

std::filesystem::path fixture(const char* name) {
  return std::filesystem::path(LUMAFLOW_SOURCE_DIR) / "tests" / "fixtures" / "v1" / name;
}

}  // namespace

TEST(ModelFile, FormatOneModelsStillLoadAndClassifyTheirTrainingFaces) {
  const FittedModel m = load_model(fixture("v1.model"));
  const EmbeddingStore s = load_store(fixture("v1.store"));
  ASSERT_EQ(m.labels.size(), 3u);
  EXPECT_EQ(m.dims(), 24 * 24);
  const auto out = classify(m, s.matrix(), 1);
  ASSERT_EQ(out.size(), s.size());
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_TRUE(out[i].known) << i;
    EXPECT_EQ(m.labels[static_cast<size_t>(out[i].label)], s.header().labels[static_cast<size_t>(s.record(i).label)]);
  }
}

TEST(ModelFile, SavedModelsAreFramedAndRoundTrip) {
  test::TempDir dir;
  const FittedModel m = load_model(fixture("v1.model"));
  save_model(dir / "m.model", m);
  const auto bytes = test::read_all(dir / "m.model");
  ASSERT_TRUE(starts_with_magic(kModelMagic, bytes.data(), bytes.size()));
  const FittedModel back = load_model(dir / "m.model");
  const EmbeddingStore s = load_store(fixture("v1.store"));
  test::expect_same_classifications(classify(m, s.matrix(), 1), classify(back, s.matrix(), 1));
}

TEST(ModelFile, TwoHundredRandomFlipsAreAllRefusedWithThePath) {
  test::TempDir dir;
  save_model(dir / "m.model", load_model(fixture("v1.model")));
  const auto bytes = test::read_all(dir / "m.model");
  const auto frame = read_frame(kModelMagic, bytes.data(), bytes.size());
  ASSERT_TRUE(frame);
  std::mt19937_64 rng(7);
  int refused = 0;
  for (int t = 0; t < 200; ++t) {
    auto bad = bytes;
    // Every byte that carries a value: the frame header and the payload (padding carries none).
    const size_t at = rng() % (kFrameHeaderBytes + frame->size);
    bad[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
    test::write_bytes(dir / "x.model", bad);
    try {
      load_model(dir / "x.model");
      ADD_FAILURE() << "flip at " << at << " was accepted";
    } catch (const ModelError& e) {
      ++refused;
      const std::string m = e.what();
      EXPECT_NE(m.find("x.model: "), std::string::npos) << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
  }
  EXPECT_EQ(refused, 200);
  auto longer = bytes;
  longer.push_back(0);
  test::write_bytes(dir / "y.model", longer);
  EXPECT_THROW(load_model(dir / "y.model"), ModelError);
}
