// The pieces of the shard file format (docs/shard-format.md) that the store
// and its tests share. Internal to storage/; the public face is shard_store.h.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "storage/shard_store.h"
#include "storage/shard_stream.h"

namespace holdfast::storage::format {

inline constexpr int kFormatVersion = 1;
inline constexpr size_t kBlockChecksumBytes = 8;
// u32 footer length | u64 footer checksum | 8-byte magic.
inline constexpr size_t kTailBytes = 4 + 8 + 8;
inline constexpr std::string_view kMagic = "HFSHARD1";
// A footer is a few hundred bytes (an S3 key is at most 1 KiB); the bound
// keeps a damaged length field from making a reader allocate gigabytes.
inline constexpr uint32_t kMaxFooterBytes = 64u << 10;
// The largest block a shard may hold: what fits in one kBlock frame.
inline constexpr uint32_t kMaxBlockSizeBytes = kMaxFramePayloadBytes - kBlockPrefixBytes;

// The shard index named by the suffix of `shard_id`, or -1 if the id is not
// valid (IsValidShardId).
int ShardIndexOfId(std::string_view shard_id);

// `shard_id` quoted for an error message, with non-printable bytes escaped and
// its length bounded, since ids that fail validation come from the network.
std::string QuoteId(std::string_view shard_id);

// The footer as stored in a shard file: EncodeFooterJson's object plus a
// "shard_id" field, so a file moved to another id's path is detected.
std::string EncodeStoredFooter(const ShardFooter& footer, std::string_view shard_id);
// Decodes a stored footer and checks that it belongs to `shard_id` (both the
// "shard_id" field and shard_index). kCorrupt otherwise.
Result<ShardFooter> DecodeStoredFooter(std::string_view footer_json, std::string_view shard_id);

uint64_t FooterChecksum(std::string_view footer_json);

using TailBytes = std::array<uint8_t, kTailBytes>;
TailBytes EncodeTail(std::string_view footer_json);

struct Tail {
  uint32_t footer_bytes = 0;
  uint64_t footer_checksum = 0;
};
// kCorrupt if the magic is wrong.
Result<Tail> DecodeTail(const TailBytes& tail);

// Size of a well-formed shard file with this shape; nullopt if it overflows
// 64 bits (so no file can match it).
std::optional<uint64_t> ShardFileBytes(uint32_t block_size_bytes, uint64_t block_count,
                                       uint64_t footer_bytes);

}  // namespace holdfast::storage::format
