// The framed shard stream: how shard bytes travel between gateway and node in
// the body of the node API's PUT and GET requests (docs/node-api.md).
//
//   frame = u8 type | u32 LE payload length | payload
//
//   kHeader  (PUT, first):  JSON ShardFooter with what is known up front
//                           (identity, k, m, shard index, block size)
//   kBlock   (PUT and GET): u64 LE block index | u64 LE checksum | payload
//   kCommit  (PUT, last):   JSON ShardFooter, complete (size, ETag, count)
//   kError   (GET):         u64 LE block index | UTF-8 message
//                           (the node could not serve that block verified;
//                           the reader should use another shard for it)
//
// A PUT body that ends without kCommit is an aborted write: the node discards
// it. Blocks in a PUT must arrive in order 0, 1, 2, ...
//
// FrameParser is incremental: feed it bytes as they arrive from the socket and
// take out complete frames. Not thread-safe. A reader that can read exact
// byte counts from its source (the node's PUT handler, NodeClient's
// downloads) decodes frame headers with DecodeFrameHeader instead and reads
// each payload straight into the buffer it is used from.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace holdfast::storage {

enum class FrameType : uint8_t { kHeader = 1, kBlock = 2, kCommit = 3, kError = 4 };

inline constexpr size_t kFrameHeaderBytes = 5;
inline constexpr size_t kBlockPrefixBytes = 16;   // index + checksum
// Upper bound on any frame payload (a block of the largest supported size
// plus its prefix); larger lengths are rejected as corrupt framing.
inline constexpr uint32_t kMaxFramePayloadBytes = (16u << 20) + kBlockPrefixBytes;

// Appends the 5-byte frame header for a payload of `payload_bytes` to `out`.
void AppendFrameHeader(FrameType type, uint32_t payload_bytes, std::string* out);
// Appends a complete frame.
void AppendFrame(FrameType type, std::string_view payload, std::string* out);
// Appends the frame header and 16-byte prefix of a kBlock frame; the caller
// sends the block payload itself right after (so the payload is never copied).
void AppendBlockFramePrefix(uint64_t block_index, uint64_t checksum, uint32_t payload_bytes,
                            std::string* out);
void AppendErrorFrame(uint64_t block_index, std::string_view message, std::string* out);

// The 5-byte header of a frame.
struct FrameHeader {
  FrameType type;
  uint32_t payload_bytes;  // including the 16-byte prefix of a kBlock frame
};

// Decodes and checks a frame header: kCorrupt for an unknown type, a length
// over kMaxFramePayloadBytes, or a kBlock or kError frame too short for its
// prefix (FrameParser applies the same checks).
Result<FrameHeader> DecodeFrameHeader(std::span<const uint8_t, kFrameHeaderBytes> bytes);

struct Frame {
  FrameType type;
  std::string payload;  // whole payload, including the block prefix for kBlock
  // For kBlock and kError, decoded from the prefix:
  uint64_t block_index = 0;
  uint64_t checksum = 0;   // kBlock only
  std::span<const uint8_t> block() const;  // kBlock: the payload after the prefix
  std::string_view message() const;        // kError: the text after the index
};

class FrameParser {
 public:
  // Adds received bytes.
  void Feed(std::span<const uint8_t> bytes);
  // The next complete frame, nullopt if more bytes are needed, or kCorrupt
  // for an unknown type, an oversized length or a malformed prefix. After
  // an error the stream is unusable and Next() keeps failing.
  Result<std::optional<Frame>> Next();
  // Bytes received but not yet returned as frames.
  size_t buffered_bytes() const {
    return buffer_.size() - consumed_ +
           (partial_ ? kFrameHeaderBytes + partial_->payload.size() : 0);
  }

 private:
  Result<std::optional<Frame>> ParseBuffered();

  std::string buffer_;
  size_t consumed_ = 0;
  // A large frame whose header has been parsed: Feed() appends its payload
  // straight into partial_->payload (one copy instead of two) until
  // partial_missing_bytes_ reaches zero. While it is set, buffer_ is empty.
  std::optional<Frame> partial_;
  size_t partial_missing_bytes_ = 0;
};

}  // namespace holdfast::storage
