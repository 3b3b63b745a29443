// Frame and result entries survive the trip through stream fields; damaged ones are refused.
#include <gtest/gtest.h>

#include "nodes/broker/codec.hpp"
#include "nodes/core/checksum.hpp"

namespace lumaflow {
namespace {

FrameEntry sample_frame() {
  FrameEntry f;
  f.name = "cam1/frame 7.jpg";
  f.bytes = {0, 1, 2, 255, 0, 13, 10};  // binary-safe, NUL included
  f.hash = xxh3_64(f.bytes.data(), f.bytes.size());
  f.captured_ms = 1700000000123;
  f.published_ms = 1700000000456;
  return f;
}

TEST(BrokerCodec, FrameRoundTrip) {
  const FrameEntry f = sample_frame();
  const FrameEntry g = decode_frame("5-1", encode_frame(f));
  EXPECT_EQ(g.id, "5-1");
  EXPECT_EQ(g.name, f.name);
  EXPECT_EQ(g.bytes, f.bytes);
  EXPECT_EQ(g.hash, f.hash);
  EXPECT_EQ(g.captured_ms, f.captured_ms);
  EXPECT_EQ(g.published_ms, f.published_ms);
  EXPECT_TRUE(g.shared_path.empty());

  FrameEntry s = f;
  s.bytes.clear();
  s.shared_path = "/shared/big.png";
  const FrameEntry t = decode_frame("5-2", encode_frame(s));
  EXPECT_EQ(t.shared_path, "/shared/big.png");
  EXPECT_TRUE(t.bytes.empty());
}

TEST(BrokerCodec, DamagedFramesAreRefusedNamingTheEntry) {
  StreamFields fields = encode_frame(sample_frame());
  StreamFields no_hash;
  for (const auto& kv : fields)
    if (kv.first != "hash") no_hash.push_back(kv);
  EXPECT_THROW(decode_frame("1-1", no_hash), CodecError);
  StreamFields bad_hash = fields;
  for (auto& kv : bad_hash)
    if (kv.first == "hash") kv.second = "xyz";
  try {
    decode_frame("9-9", bad_hash);
    FAIL();
  } catch (const CodecError& e) {
    EXPECT_NE(std::string(e.what()).find("9-9"), std::string::npos);
  }
  StreamFields no_bytes;
  for (const auto& kv : fields)
    if (kv.first != "bytes") no_bytes.push_back(kv);
  EXPECT_THROW(decode_frame("1-2", no_bytes), CodecError);
}

TEST(BrokerCodec, ResultRoundTripKeepsEverythingTheCollectorNeeds) {
  FrameResult fr;
  fr.source_width = 640;
  fr.source_height = 480;
  fr.content_hash = 0x1234abcd5678ef00ull;
  FaceCrop crop;
  crop.face_index = 2;
  crop.box = FaceBox{10, 20, 30, 40};
  crop.landmarks_found = true;
  crop.pixels = {1, 2, 3, 4, 250};
  fr.faces.push_back(crop);
  std::vector<FaceAnswer> answers(1);
  Classification& c = answers[0].answer.result;
  c.label = 3;
  c.confidence = 0.75f;
  c.known = false;
  c.nearest = 2.5f;
  c.ratio = 0.9f;
  c.umap_x = -1.5f;
  c.umap_y = 4.25f;
  c.neighbors = {{7, 3, 2.5f}, {9, 1, 2.75f}};
  answers[0].reduced = {0.5f, -0.25f, 8.0f};
  const std::vector<float> reduced = answers[0].reduced;
  FrameEntry frame = sample_frame();
  frame.id = "17-0";
  const auto entries = results_of(frame, fr, answers, "w1");
  ASSERT_EQ(entries.size(), 1u);
  const ResultEntry r = decode_result("99-0", encode_result(entries[0]));
  EXPECT_EQ(r.frame_id, "17-0");
  EXPECT_EQ(r.name, frame.name);
  EXPECT_EQ(r.worker, "w1");
  EXPECT_EQ(r.face, 2);
  EXPECT_EQ(r.faces, 1);
  EXPECT_EQ(r.status, ResultStatus::ok);
  EXPECT_EQ(r.published_ms, frame.published_ms);
  EXPECT_EQ(r.result.label, 3);
  EXPECT_FLOAT_EQ(r.result.confidence, 0.75f);
  EXPECT_FALSE(r.result.known);
  EXPECT_FLOAT_EQ(r.result.umap_y, 4.25f);
  ASSERT_EQ(r.result.neighbors.size(), 2u);
  EXPECT_EQ(r.result.neighbors[1].index, 9);
  EXPECT_FLOAT_EQ(r.result.neighbors[1].distance, 2.75f);
  EXPECT_EQ(r.source_width, 640u);
  EXPECT_EQ(r.content_hash, fr.content_hash);
  ASSERT_TRUE(r.crop.box);
  EXPECT_EQ(r.crop.box->height, 40);
  EXPECT_TRUE(r.crop.landmarks_found);
  EXPECT_EQ(r.crop.pixels, crop.pixels);
  EXPECT_EQ(r.reduced, reduced);
}

TEST(BrokerCodec, LearnedVectorsAndFrameLevelEntries) {
  FrameResult fr;
  FaceCrop crop;
  crop.vector = {0.25f, -0.5f};
  crop.thumbnail = {9, 8, 7};
  fr.faces.push_back(crop);
  std::vector<FaceAnswer> answers(1);
  FrameEntry frame = sample_frame();
  frame.id = "1-0";
  const ResultEntry r = decode_result("2-0", encode_result(results_of(frame, fr, answers, "w").at(0)));
  EXPECT_EQ(r.crop.vector, crop.vector);
  EXPECT_EQ(r.crop.thumbnail, crop.thumbnail);
  EXPECT_TRUE(r.crop.pixels.empty());

  FrameResult none;
  const auto noface = results_of(frame, none, answers, "w");
  ASSERT_EQ(noface.size(), 1u);
  EXPECT_EQ(decode_result("3-0", encode_result(noface[0])).status, ResultStatus::noface);
  FrameResult failed;
  failed.error = "not an image";
  const ResultEntry e = decode_result("4-0", encode_result(results_of(frame, failed, answers, "w").at(0)));
  EXPECT_EQ(e.status, ResultStatus::error);
  EXPECT_EQ(e.error, "not an image");
  EXPECT_EQ(e.face, -1);
}

TEST(BrokerCodec, DamagedResultsAreRefused) {
  FrameResult fr;
  fr.faces.push_back(FaceCrop{});
  fr.faces[0].pixels = {1};
  std::vector<FaceAnswer> answers(1);
  FrameEntry frame = sample_frame();
  StreamFields f = encode_result(results_of(frame, fr, answers, "w").at(0));
  for (auto& kv : f)
    if (kv.first == "answer") kv.second = "{not json";
  EXPECT_THROW(decode_result("5-0", f), CodecError);
  StreamFields g = encode_result(results_of(frame, fr, answers, "w").at(0));
  for (auto& kv : g)
    if (kv.first == "status") kv.second = "maybe";
  EXPECT_THROW(decode_result("6-0", g), CodecError);
}

}  // namespace
}  // namespace lumaflow
