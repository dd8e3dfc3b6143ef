#include "storage/shard_stream.h"

#include <gtest/gtest.h>

#include <random>

#include "storage/shard_store.h"

namespace holdfast::storage {
namespace {

std::span<const uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::string RandomBytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

struct Expected {
  FrameType type;
  std::string payload;  // kBlock: block bytes; kError: message; else whole payload
  uint64_t block_index = 0;
};

// A PUT-like stream: header, blocks of several sizes (one large enough to
// take the parser's direct-fill path), an error frame, an empty commit.
std::vector<Expected> SampleFrames() {
  return {
      {FrameType::kHeader, R"({"bucket":"b","key":"k"})"},
      {FrameType::kBlock, RandomBytes(1024, 1), 0},
      {FrameType::kBlock, RandomBytes(300 << 10, 2), 1},
      {FrameType::kBlock, "", 2},
      {FrameType::kError, "disk said no", 7},
      {FrameType::kBlock, RandomBytes(100, 3), 3},
      {FrameType::kCommit, ""},
  };
}

std::string Encode(const std::vector<Expected>& frames) {
  std::string out;
  for (const Expected& f : frames) {
    if (f.type == FrameType::kBlock) {
      uint64_t checksum = BlockChecksum(Bytes(f.payload), f.block_index);
      AppendBlockFramePrefix(f.block_index, checksum, f.payload.size(), &out);
      out += f.payload;
    } else if (f.type == FrameType::kError) {
      AppendErrorFrame(f.block_index, f.payload, &out);
    } else {
      AppendFrame(f.type, f.payload, &out);
    }
  }
  return out;
}

void ExpectFrame(const Expected& want, const Frame& got) {
  ASSERT_EQ(want.type, got.type);
  switch (want.type) {
    case FrameType::kBlock: {
      EXPECT_EQ(want.block_index, got.block_index);
      EXPECT_EQ(got.payload.size(), want.payload.size() + kBlockPrefixBytes);
      std::span<const uint8_t> block = got.block();
      EXPECT_EQ(want.payload, std::string(block.begin(), block.end()));
      EXPECT_EQ(BlockChecksum(block, want.block_index), got.checksum);
      break;
    }
    case FrameType::kError:
      EXPECT_EQ(want.block_index, got.block_index);
      EXPECT_EQ(want.payload, got.message());
      break;
    default:
      EXPECT_EQ(want.payload, got.payload);
  }
}

// Feeds `stream` in pieces chosen by `next_piece` and checks every frame.
template <typename NextPiece>
void FeedAndCheck(const std::string& stream, NextPiece next_piece) {
  std::vector<Expected> want = SampleFrames();
  FrameParser parser;
  size_t taken = 0;
  for (size_t offset = 0; offset < stream.size();) {
    size_t piece = std::min(next_piece(), stream.size() - offset);
    parser.Feed(Bytes(std::string_view(stream).substr(offset, piece)));
    offset += piece;
    for (;;) {
      auto next = parser.Next();
      ASSERT_TRUE(next.ok()) << next.error().message;
      if (!next->has_value()) break;
      ASSERT_LT(taken, want.size());
      ExpectFrame(want[taken++], **next);
    }
  }
  EXPECT_EQ(want.size(), taken);
  EXPECT_EQ(0u, parser.buffered_bytes());
}

TEST(ShardStream, WholeStreamAtOnce) {
  std::string stream = Encode(SampleFrames());
  FeedAndCheck(stream, [&] { return stream.size(); });
}

TEST(ShardStream, ByteByByte) {
  FeedAndCheck(Encode(SampleFrames()), [] { return size_t{1}; });
}

TEST(ShardStream, RandomChunks) {
  std::string stream = Encode(SampleFrames());
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::mt19937_64 rng(seed);
    size_t max_piece = seed % 2 ? 17 : 200000;
    FeedAndCheck(stream, [&] { return 1 + rng() % max_piece; });
  }
}

TEST(ShardStream, BufferedBytesCountsPartialFrames) {
  std::string stream = Encode(SampleFrames());
  FrameParser parser;
  parser.Feed(Bytes(stream));
  EXPECT_EQ(stream.size(), parser.buffered_bytes());
  // Split inside the large block so its tail arrives in a second piece.
  size_t cut = 5 + 24 + 5 + 16 + 1024 + 5 + 1000;
  FrameParser split;
  split.Feed(Bytes(std::string_view(stream).substr(0, cut)));
  ASSERT_TRUE(split.Next().ok());
  ASSERT_TRUE(split.Next().ok());
  auto pending = split.Next();
  ASSERT_TRUE(pending.ok());
  EXPECT_FALSE(pending->has_value());
  EXPECT_EQ(cut - (5 + 24) - (5 + 16 + 1024), split.buffered_bytes());
}

TEST(ShardStream, LongStreamOfSmallFramesStaysLinear) {
  // 200k tiny frames, fed whole and in 1000-byte pieces: moving the buffered
  // bytes per frame would take minutes here, linear takes milliseconds.
  std::string stream;
  for (int i = 0; i < 200000; ++i) AppendFrame(FrameType::kHeader, "0123456789", &stream);
  for (size_t piece : {stream.size(), size_t{1000}}) {
    FrameParser parser;
    int frames = 0;
    for (size_t offset = 0; offset < stream.size(); offset += piece) {
      parser.Feed(Bytes(std::string_view(stream).substr(offset, piece)));
      for (auto next = parser.Next(); next.ok() && next->has_value(); next = parser.Next()) {
        ++frames;
      }
    }
    EXPECT_EQ(200000, frames);
    EXPECT_EQ(0u, parser.buffered_bytes());
  }
}

Error ParseError(const std::string& stream) {
  FrameParser parser;
  parser.Feed(Bytes(stream));
  for (;;) {
    auto next = parser.Next();
    if (!next.ok()) return next.error();
    if (!next->has_value()) return MakeError(Errc::kInternal, "no error");
  }
}

std::string Header(uint8_t type, uint32_t length) {
  std::string out(1, static_cast<char>(type));
  for (int i = 0; i < 4; ++i) out += static_cast<char>(length >> (8 * i));
  return out;
}

TEST(ShardStream, RejectsMalformedFrames) {
  struct Case {
    std::string stream;
    std::string message_part;
  };
  Case cases[] = {
      {Header(0, 0), "unknown frame type 0"},
      {Header(5, 0), "unknown frame type 5"},
      {Header(255, 3) + "abc", "unknown frame type 255"},
      {Header(2, kMaxFramePayloadBytes + 1), "exceeds the maximum"},
      {Header(1, 0xffffffff), "exceeds the maximum"},
      {Header(2, 15) + std::string(15, 'x'), "shorter than its 16-byte prefix"},
      {Header(2, 0), "shorter than its 16-byte prefix"},
      {Header(4, 7) + std::string(7, 'x'), "shorter than its 8-byte block index"},
      // A good frame, then garbage.
      {Header(1, 2) + "{}" + Header(9, 0), "unknown frame type 9"},
  };
  for (const Case& c : cases) {
    Error error = ParseError(c.stream);
    EXPECT_EQ(Errc::kCorrupt, error.code) << c.message_part;
    EXPECT_NE(std::string::npos, error.message.find(c.message_part)) << error.message;
  }
}

TEST(ShardStream, DecodeFrameHeaderAppliesTheParsersChecks) {
  auto decode = [](const std::string& header) {
    return DecodeFrameHeader(std::span<const uint8_t, kFrameHeaderBytes>(
        reinterpret_cast<const uint8_t*>(header.data()), kFrameHeaderBytes));
  };
  auto block = decode(Header(2, kBlockPrefixBytes + 1000));
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(FrameType::kBlock, block->type);
  EXPECT_EQ(kBlockPrefixBytes + 1000, block->payload_bytes);
  for (const std::string& bad : {Header(0, 0), Header(5, 0), Header(2, kMaxFramePayloadBytes + 1),
                                 Header(2, 15), Header(4, 7)}) {
    auto decoded = decode(bad);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(Errc::kCorrupt, decoded.error().code);
  }
}

TEST(ShardStream, ErrorIsReportedBeforePayloadArrives) {
  // An oversized length must be refused from the header alone, so a hostile
  // peer cannot make the node buffer 4 GiB first.
  FrameParser parser;
  parser.Feed(Bytes(Header(2, 0x7fffffff)));
  auto next = parser.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(Errc::kCorrupt, next.error().code);
  EXPECT_FALSE(parser.Next().ok());  // and stays broken
}

TEST(ShardStream, TruncatedStreamYieldsNoFrame) {
  std::string stream = Encode(SampleFrames());
  for (size_t cut : {size_t{1}, size_t{4}, size_t{5 + 23}}) {
    FrameParser parser;
    parser.Feed(Bytes(std::string_view(stream).substr(0, cut)));
    auto next = parser.Next();
    ASSERT_TRUE(next.ok());
    EXPECT_FALSE(next->has_value());
    EXPECT_EQ(cut, parser.buffered_bytes());
  }
}

TEST(ShardStream, ViewsAreEmptyForOtherTypes) {
  Frame frame{FrameType::kHeader, "{}"};
  EXPECT_TRUE(frame.block().empty());
  EXPECT_TRUE(frame.message().empty());
}

}  // namespace
}  // namespace holdfast::storage
