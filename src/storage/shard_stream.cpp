#include "storage/shard_stream.h"

#include <algorithm>
#include <cassert>

#include "storage/endian.h"

namespace holdfast::storage {
namespace {

// Frames at least this large are filled straight from Feed() once their
// header is known, instead of waiting in buffer_ and being copied out.
constexpr size_t kDirectFillMinBytes = 64u << 10;
// buffer_ drops its consumed front only once that front is this large and at
// least as large as what remains, so each byte is moved at most once on
// average (no O(n^2) on a long stream of small frames).
constexpr size_t kCompactMinBytes = 64u << 10;
constexpr size_t kErrorPrefixBytes = 8;  // block index

Status CheckHeader(uint8_t type, uint32_t payload_bytes) {
  auto corrupt = [](std::string problem) {
    return MakeError(Errc::kCorrupt, "shard stream: " + std::move(problem));
  };
  if (type < static_cast<uint8_t>(FrameType::kHeader) ||
      type > static_cast<uint8_t>(FrameType::kError)) {
    return corrupt("unknown frame type " + std::to_string(type));
  }
  if (payload_bytes > kMaxFramePayloadBytes) {
    return corrupt("frame length " + std::to_string(payload_bytes) + " exceeds the maximum " +
                   std::to_string(kMaxFramePayloadBytes));
  }
  if (type == static_cast<uint8_t>(FrameType::kBlock) && payload_bytes < kBlockPrefixBytes) {
    return corrupt("block frame of " + std::to_string(payload_bytes) +
                   " bytes is shorter than its 16-byte prefix");
  }
  if (type == static_cast<uint8_t>(FrameType::kError) && payload_bytes < kErrorPrefixBytes) {
    return corrupt("error frame of " + std::to_string(payload_bytes) +
                   " bytes is shorter than its 8-byte block index");
  }
  return Status::Ok();
}

// Fills the fields decoded from the prefix; CheckHeader guaranteed its length.
Frame Finish(Frame frame) {
  const auto* prefix = reinterpret_cast<const uint8_t*>(frame.payload.data());
  if (frame.type == FrameType::kBlock) {
    frame.block_index = LoadLe64(prefix);
    frame.checksum = LoadLe64(prefix + 8);
  } else if (frame.type == FrameType::kError) {
    frame.block_index = LoadLe64(prefix);
  }
  return frame;
}

}  // namespace

Result<FrameHeader> DecodeFrameHeader(std::span<const uint8_t, kFrameHeaderBytes> bytes) {
  const uint8_t type = bytes[0];
  const uint32_t payload_bytes = LoadLe32(bytes.data() + 1);
  if (Status valid = CheckHeader(type, payload_bytes); !valid) return valid.error();
  return FrameHeader{static_cast<FrameType>(type), payload_bytes};
}

void AppendFrameHeader(FrameType type, uint32_t payload_bytes, std::string* out) {
  assert(payload_bytes <= kMaxFramePayloadBytes);
  out->push_back(static_cast<char>(type));
  AppendLe32(payload_bytes, out);
}

void AppendFrame(FrameType type, std::string_view payload, std::string* out) {
  assert(payload.size() <= kMaxFramePayloadBytes);
  out->reserve(out->size() + kFrameHeaderBytes + payload.size());
  AppendFrameHeader(type, static_cast<uint32_t>(payload.size()), out);
  out->append(payload);
}

void AppendBlockFramePrefix(uint64_t block_index, uint64_t checksum, uint32_t payload_bytes,
                            std::string* out) {
  assert(payload_bytes <= kMaxFramePayloadBytes - kBlockPrefixBytes);
  AppendFrameHeader(FrameType::kBlock, static_cast<uint32_t>(kBlockPrefixBytes + payload_bytes),
                    out);
  AppendLe64(block_index, out);
  AppendLe64(checksum, out);
}

void AppendErrorFrame(uint64_t block_index, std::string_view message, std::string* out) {
  // A message is a line of text; the cut only guards the frame limit.
  message = message.substr(0, kMaxFramePayloadBytes - kErrorPrefixBytes);
  AppendFrameHeader(FrameType::kError, static_cast<uint32_t>(kErrorPrefixBytes + message.size()),
                    out);
  AppendLe64(block_index, out);
  out->append(message);
}

std::span<const uint8_t> Frame::block() const {
  if (type != FrameType::kBlock || payload.size() < kBlockPrefixBytes) return {};
  return {reinterpret_cast<const uint8_t*>(payload.data()) + kBlockPrefixBytes,
          payload.size() - kBlockPrefixBytes};
}

std::string_view Frame::message() const {
  if (type != FrameType::kError || payload.size() < kErrorPrefixBytes) return {};
  return std::string_view(payload).substr(kErrorPrefixBytes);
}

void FrameParser::Feed(std::span<const uint8_t> bytes) {
  if (partial_ && partial_missing_bytes_ > 0) {
    size_t take = std::min(partial_missing_bytes_, bytes.size());
    partial_->payload.append(reinterpret_cast<const char*>(bytes.data()), take);
    partial_missing_bytes_ -= take;
    bytes = bytes.subspan(take);
  }
  if (bytes.empty()) return;
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  } else if (consumed_ >= kCompactMinBytes && consumed_ >= buffer_.size() - consumed_) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

Result<std::optional<Frame>> FrameParser::Next() {
  if (partial_) {
    if (partial_missing_bytes_ > 0) return std::optional<Frame>();
    Frame frame = Finish(std::move(*partial_));
    partial_.reset();
    return std::optional<Frame>(std::move(frame));
  }
  return ParseBuffered();
}

Result<std::optional<Frame>> FrameParser::ParseBuffered() {
  size_t available = buffer_.size() - consumed_;
  if (available < kFrameHeaderBytes) return std::optional<Frame>();
  const auto* header = reinterpret_cast<const uint8_t*>(buffer_.data()) + consumed_;
  uint8_t type = header[0];
  uint32_t payload_bytes = LoadLe32(header + 1);
  // The header stays unconsumed on error, so a broken stream keeps failing.
  if (Status valid = CheckHeader(type, payload_bytes); !valid) return valid.error();

  size_t have = std::min<size_t>(available - kFrameHeaderBytes, payload_bytes);
  if (have < payload_bytes && payload_bytes < kDirectFillMinBytes) {
    return std::optional<Frame>();  // small frame: wait for the rest in buffer_
  }
  Frame frame;
  frame.type = static_cast<FrameType>(type);
  if (have < payload_bytes) frame.payload.reserve(payload_bytes);
  frame.payload.assign(reinterpret_cast<const char*>(header) + kFrameHeaderBytes, have);
  consumed_ += kFrameHeaderBytes + have;
  if (have < payload_bytes) {
    partial_ = std::move(frame);  // buffer_ is now fully consumed
    partial_missing_bytes_ = payload_bytes - have;
    return std::optional<Frame>();
  }
  return std::optional<Frame>(Finish(std::move(frame)));
}

}  // namespace holdfast::storage
