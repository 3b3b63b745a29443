// load_model refuses models whose checksum holds but whose numbers cannot be classified with:
// non-finite or absurd values, parameters out of range, an unknown classify space. Each case
// was found by fuzz/fuzz_model (classify then threw mid-output, or hung).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "model_generated.h"
#include "nodes/model/model.hpp"
#include "nodes/store/frame.hpp"
#include "test_util.hpp"

using namespace lumaflow;

namespace {

std::filesystem::path fixture(const char* name) {
  return std::filesystem::path(LUMAFLOW_SOURCE_DIR) / "tests" / "fixtures" / "v1" / name;
}

// Saves `m` (a valid frame and checksum around it) and expects load_model to refuse it with the
// path and `why` in the message.
void expect_refused(const FittedModel& m, const std::string& why) {
  test::TempDir dir;
  const auto path = dir / "bad.model";
  save_model(path, m);
  try {
    load_model(path);
    ADD_FAILURE() << "accepted a model with " << why;
  } catch (const ModelError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(why), std::string::npos) << msg;
  }
}

}  // namespace

TEST(ModelValues, TheFixtureItselfLoadsAndClassifies) {
  const FittedModel m = load_model(fixture("v1.model"));
  RowMatrixF raw(1, m.dims());
  raw.row(0) = m.pca.mean.transpose();
  EXPECT_EQ(classify(m, raw, 1).size(), 1u);
}

TEST(ModelValues, NonFiniteNumbersAreRefused) {
  const FittedModel good = load_model(fixture("v1.model"));
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  {
    FittedModel m = good;
    m.pca.mean(3) = nan;  // classify threw "umap_transform: query contains NaN" for every face
    expect_refused(m, "PCA mean");
  }
  {
    FittedModel m = good;
    m.pca.components(0, 0) = inf;
    expect_refused(m, "PCA components");
  }
  {
    FittedModel m = good;
    m.reduced(1, 1) = nan;
    expect_refused(m, "training vectors");
  }
  {
    FittedModel m = good;
    m.umap2.embedding(0, 0) = nan;
    expect_refused(m, "UMAP 2-D");
  }
  {
    FittedModel m = good;
    m.open_set_threshold = nan;
    expect_refused(m, "open-set");
  }
}

TEST(ModelValues, AbsurdMagnitudesAndParametersAreRefused) {
  const FittedModel good = load_model(fixture("v1.model"));
  {
    FittedModel m = good;
    m.reduced(0, 0) = 1e30f;  // finite, but squared distances overflow: "no valid neighbour"
    expect_refused(m, "training vectors");
  }
  {
    FittedModel m = good;
    m.umap2.options.transform_epochs = 1 << 30;  // classify would run for days
    expect_refused(m, "UMAP 2-D");
  }
  {
    FittedModel m = good;
    m.open_set_percentile = 500;
    expect_refused(m, "open-set");
  }
  {
    FittedModel m = good;
    m.dbscan_labels.assign(m.train_labels.size(), 1 << 20);
    expect_refused(m, "cluster label");
  }
}

TEST(ModelValues, UnknownClassifySpaceIsAModelErrorWithThePath) {
  test::TempDir dir;
  const auto path = dir / "m.model";
  save_model(path, load_model(fixture("v1.model")));
  auto bytes = test::read_all(path);
  const auto frame = read_frame(kModelMagic, bytes.data(), bytes.size());
  ASSERT_TRUE(frame);
  std::vector<uint8_t> payload(frame->payload, frame->payload + frame->size);
  // The FlatBuffer string "pca" (length 3, bytes, NUL) becomes "uma"; the frame is rebuilt, so
  // only the loader's own checks can refuse it (it used to throw std::invalid_argument).
  const uint8_t pca[] = {3, 0, 0, 0, 'p', 'c', 'a', 0};
  auto it = std::search(payload.begin(), payload.end(), std::begin(pca), std::end(pca));
  ASSERT_NE(it, payload.end());
  std::memcpy(&*(it + 4), "uma", 3);
  std::vector<uint8_t> file;
  append_frame(kModelMagic, payload.data(), payload.size(), file);
  test::write_bytes(path, file);
  try {
    load_model(path);
    FAIL() << "accepted classify space 'uma'";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("uma"), std::string::npos) << e.what();
  }
}

// fuzz_model: a pixel model declaring image size 1073741832 overflowed int while its vector
// length (the size squared) was computed, before the range check (UBSan in the sanitize build).
TEST(ModelValues, AnAbsurdImageSizeIsRefusedBeforeItIsSquared) {
  test::TempDir dir;
  const auto path = dir / "m.model";
  save_model(path, load_model(fixture("v1.model")));
  const auto bytes = test::read_all(path);
  const auto frame = read_frame(kModelMagic, bytes.data(), bytes.size());
  ASSERT_TRUE(frame);
  std::vector<uint8_t> payload(frame->payload, frame->payload + frame->size);
  const fb::Model* f = fb::GetModel(payload.data());
  // The generated table inherits flatbuffers::Table privately; its field address is what we need.
  const auto* table = reinterpret_cast<const flatbuffers::Table*>(f->preprocessing());
  const uint8_t* at = table->GetAddressOf(fb::Preprocessing::VT_IMAGE_SIZE);
  ASSERT_NE(at, nullptr);
  const uint32_t huge = 1073741832u;
  std::memcpy(payload.data() + (at - payload.data()), &huge, sizeof huge);
  std::vector<uint8_t> file;
  append_frame(kModelMagic, payload.data(), payload.size(), file);
  test::write_bytes(path, file);
  try {
    load_model(path);
    FAIL() << "accepted image size " << huge;
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("image size 1073741832"), std::string::npos) << e.what();
  }
}
