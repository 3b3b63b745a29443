// Checksummed frames (nodes/store/frame.hpp), the wrapper of every store segment and model.
#include <gtest/gtest.h>

#include <numeric>

#include "nodes/store/frame.hpp"

using namespace lumaflow;

TEST(Frame, RoundTripsAndPadsToEightBytes) {
  for (size_t n : {0u, 1u, 7u, 8u, 9u, 1000u}) {
    std::vector<uint8_t> payload(n);
    std::iota(payload.begin(), payload.end(), uint8_t{3});
    std::vector<uint8_t> out = {1, 2};  // frames append
    out.resize(8);
    append_frame(kStoreMagic, payload.data(), payload.size(), out);
    EXPECT_EQ(out.size() % 8, 0u);
    const auto f = read_frame(kStoreMagic, out.data() + 8, out.size() - 8);
    ASSERT_TRUE(f) << n;
    EXPECT_EQ(f->size, n);
    EXPECT_EQ(f->total, out.size() - 8);
    EXPECT_TRUE(std::equal(payload.begin(), payload.end(), f->payload));
  }
}

TEST(Frame, AnyDamagedHeaderOrPayloadByteFailsTheCheck) {
  std::vector<uint8_t> payload(100, 0xAB), frame;
  append_frame(kModelMagic, payload.data(), payload.size(), frame);
  for (size_t at = 0; at < kFrameHeaderBytes + payload.size(); ++at) {
    auto bad = frame;
    bad[at] ^= 0x01;
    std::string why;
    EXPECT_FALSE(read_frame(kModelMagic, bad.data(), bad.size(), &why)) << "flip at " << at;
    EXPECT_FALSE(why.empty());
  }
  EXPECT_FALSE(read_frame(kStoreMagic, frame.data(), frame.size()));  // another file kind's magic
  EXPECT_FALSE(read_frame(kModelMagic, frame.data(), frame.size() - 10));  // truncated payload
}

TEST(Frame, FindSkipsMarkersWhoseChecksumFails) {
  std::vector<uint8_t> junk(64, 0);
  std::copy(kStoreMagic.begin(), kStoreMagic.end(), junk.begin() + 16);  // a bare marker, no valid frame
  std::vector<uint8_t> payload(40, 7);
  append_frame(kStoreMagic, payload.data(), payload.size(), junk);
  EXPECT_EQ(find_frame(kStoreMagic, junk.data(), junk.size(), 0), std::optional<size_t>(64));
  EXPECT_EQ(find_frame(kStoreMagic, junk.data(), junk.size(), 65), std::nullopt);
}
