// The PUT data path: stream a request body through the erasure coder to the
// nodes chosen by placement, then commit the version row.
//
//   body --(stripe of k blocks)--> MD5/SHA-256 --> encode m parity blocks
//        --> checksum every block --> send block i to shard i's node
//   (all k+m in parallel; the slowest node paces the client: at most one
//    stripe is in memory, so memory is bounded by (k+m) x block size)
//   --> commit frames --> nodes fsync --> CommitObject() = the commit point.
//
// A node that fails mid-upload is dropped and its shard recorded as missing
// (repair restores it later), as long as at least the write quorum of shards
// remains: k + 1 when m >= 1, so every acknowledged object survives the loss
// of one more node. Below that the write fails and nothing becomes visible.
// Objects of a single stripe (up to k x 1 MiB) are sent as one request per
// shard, which halves the round trips for small files.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "gateway/context.h"
#include "net/http.h"

namespace holdfast::gateway {

// Where a part of a multipart upload goes (WriteRequest::part).
struct PartTarget {
  std::string upload_id;
  int part_number = 0;
};

struct WriteRequest {
  std::string bucket;
  std::string key;
  std::string content_type;
  std::map<std::string, std::string> user_metadata;
  std::map<std::string, std::string> headers;  // standard headers kept with the object
  uint64_t content_length = 0;
  std::optional<std::string> expected_sha256_hex;  // from x-amz-content-sha256
  std::optional<std::string> expected_md5;         // 16 raw bytes, from Content-MD5
  // Set for UploadPart: the bytes become a part (MetaStore::CommitPart)
  // instead of the key's new version.
  std::optional<PartTarget> part;
  // Retention and legal hold asked for in the request (the store applies the
  // bucket's default retention when none is set). Not for parts.
  meta::ObjectLock lock;
  // If-None-Match / If-Match, checked in the commit transaction (a failed
  // condition aborts the write: kPreconditionFailed). Not for parts.
  meta::WriteCondition condition;
};

enum class WriteFailure {
  kTooFewNodes,       // not enough reachable nodes to store the object safely
  kClientGone,        // the body ended early or the client disconnected
  kMd5Mismatch,       // Content-MD5 did not match the body
  kSha256Mismatch,    // x-amz-content-sha256 did not match the body
  kBucketGone,        // the bucket was deleted while the body streamed
  kUploadGone,        // the multipart upload was completed or aborted meanwhile
  kLocked,            // committing would destroy a version a hold or retention protects
  kPreconditionFailed,  // WriteRequest::condition did not hold at the commit
  kInternal,
};

struct WriteError {
  WriteFailure failure;
  std::string message;
};

struct WriteOutcome {
  meta::ObjectVersion version;  // null_version as committed (S3VersionId gives the id)
  meta::Versioning versioning = meta::Versioning::kNeverEnabled;  // the bucket's, at the commit
  int shards_written = 0;
};

// The layout for an object of `object_size_bytes`: the policy's widest code,
// or the single-data-shard layout (one whole copy per shard) when that takes
// no more disk. File systems allocate whole 4 KiB blocks, so a 4 KiB object
// in a 5+4 code occupies 9 x 4 KiB plus footers, while three copies take
// 3 x 8 KiB and need 3 fsyncs instead of 9; from a few tens of KiB on, the
// wide code wins and is used.
Result<placement::Layout> ChooseLayout(const std::vector<placement::NodeInfo>& nodes,
                                       const placement::DurabilityPolicy& policy,
                                       uint64_t object_size_bytes, uint32_t max_block_size_bytes);
// Bytes the shards of such an object occupy on disk (4 KiB allocation).
uint64_t EstimatedDiskBytes(uint64_t object_size_bytes, const placement::Layout& layout,
                            uint32_t max_block_size_bytes);

// Smallest multiple of 64 that holds a 1/k share of the object, capped at
// `max_block_size_bytes`.
uint32_t ChooseBlockSize(uint64_t object_size_bytes, int data_shard_count,
                         uint32_t max_block_size_bytes);
// Shards that must be durable before a write is acknowledged.
int WriteQuorum(const placement::Layout& layout);

net::Task<std::variant<WriteOutcome, WriteError>> WriteObject(GatewayContext& context,
                                                              const WriteRequest& request,
                                                              net::BodyReader& body);

}  // namespace holdfast::gateway
