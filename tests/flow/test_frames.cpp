// The frame chain with a frame's work spread over the graph's threads (tbb_for_each, as watch
// runs it) gives exactly what the sequential reference (process_frame) gives: same faces, boxes,
// landmark flags, descriptors (bit for bit) and thumbnails.
#include <gtest/gtest.h>

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task_arena.h>

#include <cstdlib>
#include <memory>

#include "flow/frames.hpp"
#include "nodes/image/faces.hpp"
#include "nodes/learned/resnet.hpp"
#include "test_util.hpp"

using namespace lumaflow;
namespace flow = oneapi::tbb::flow;

namespace {

FrameWork& frame_of(FrameWork& w) { return w; }

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

}  // namespace

TEST(FrameChain, FrameSpreadOverThreadsMatchesSequential) {
  try {
    locate_models_dir();
  } catch (const ModelsNotFound& e) {
    if (in_ci()) FAIL() << "CI=true and the face recognition weights are missing: " << e.what();
    GTEST_SKIP() << e.what();
  }
  LUMAFLOW_REQUIRE_DATA(frames, "tvshow-frames");
  EmbedOptions opt;
  opt.embedding = Embedding::resnet;
  opt.faces = FaceMode::align;
  const FaceTools tools(opt, "");
  ScanEntry entry;
  entry.path = frames / "bbt2.jpg";  // the smallest frame: quick under the sanitizers
  entry.rel = "bbt2.jpg";
  const FrameResult want = process_frame(0, entry, opt, &tools);
  ASSERT_TRUE(want.ok()) << want.error;
  ASSERT_GE(want.faces.size(), 2u);

  FrameResult got;
  oneapi::tbb::task_arena arena(2);
  arena.execute([&] {
    flow::graph g;
    FrameChain<FrameWork, frame_of> chain(g, opt, &tools, tbb_for_each());
    flow::function_node<std::shared_ptr<FrameWork>> sink(g, flow::serial, [&](std::shared_ptr<FrameWork> w) {
      got = std::move(w->result);
      return flow::continue_msg();
    });
    flow::make_edge(chain.output(), sink);
    auto w = std::make_shared<FrameWork>();
    w->result.entry = entry;
    chain.input().try_put(w);
    g.wait_for_all();
  });
  ASSERT_TRUE(got.ok()) << got.error;
  ASSERT_EQ(got.faces.size(), want.faces.size());
  for (size_t i = 0; i < want.faces.size(); ++i) {
    const FaceCrop &a = got.faces[i], &b = want.faces[i];
    EXPECT_EQ(a.face_index, b.face_index);
    ASSERT_TRUE(a.box && b.box);
    EXPECT_EQ(a.box->x, b.box->x);
    EXPECT_EQ(a.box->y, b.box->y);
    EXPECT_EQ(a.box->width, b.box->width);
    EXPECT_EQ(a.box->height, b.box->height);
    EXPECT_EQ(a.landmarks_found, b.landmarks_found);
    ASSERT_EQ(a.vector.size(), static_cast<size_t>(kDescriptorSize));
    EXPECT_EQ(a.vector, b.vector) << "face " << i;
    EXPECT_EQ(a.thumbnail, b.thumbnail) << "face " << i;
  }
}
