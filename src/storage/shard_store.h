// storage: the node-side shard store.  Start here for storage/.
//
// A node keeps one file per shard (one shard = one object version's blocks for
// one shard index). The file is self-describing, so the catalogue can be
// rebuilt from shards alone, and every block carries its own checksum, so a
// read never returns corrupt bytes. The byte layout is in docs/shard-format.md:
//
//   block 0 payload (block_size bytes) | u64 LE XXH3-64(payload, seed = 0)
//   block 1 payload                    | u64 LE XXH3-64(payload, seed = 1)
//   ...
//   footer: UTF-8 JSON (ShardFooter)
//   tail:   u32 LE footer length | u64 LE XXH3-64(footer, seed 0) | "HFSHARD1"
//
// Durability: a shard is written to a temporary file, fsynced, renamed into
// place and the directory fsynced before Commit() returns; only then may the
// node acknowledge the write. A failed fsync turns the whole store read-only
// (later writes fail with kIo) rather than pretending the data is safe.
//
// Shard ids are validated against a strict pattern (IsValidShardId), so no
// request can name a path outside the store's directory.
//
// Scrubbing (Scrub) reads a whole shard back and verifies it; a shard that
// fails is moved to quarantine/: out of service (never served, listed,
// counted or scrubbed again) but kept until the shard is committed here again
// or removed, i.e. until redundancy no longer depends on its good blocks.
//
// Thread-safety: ShardStore methods may be called from many threads at once;
// a ShardWriter or ShardReader is used by one thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace holdfast::storage {

// Identity and shape of one shard, stored in the footer of its file.
struct ShardFooter {
  int format_version = 1;
  std::string bucket;
  std::string key;
  std::string version_id;   // the object version this shard belongs to
  uint64_t object_size_bytes = 0;
  std::string etag;         // the object's S3 ETag, without quotes
  int data_shard_count = 0;    // k
  int parity_shard_count = 0;  // m
  int shard_index = 0;         // in [0, k+m)
  uint32_t block_size_bytes = 0;
  uint64_t block_count = 0;    // blocks in this shard (= stripes of the object)
  int64_t created_unix_ms = 0;
  // Optional: set on the shards of one part of a multipart upload, whose
  // version_id, object_size_bytes and etag are then the part's own. The
  // upload id is also the id of the multipart version the part ends up in.
  std::string upload_id;
  int part_number = 0;  // 1..10000; 0 = not a part
  // Optional: the object's S3 metadata (content type, user metadata,
  // standard headers) as a JSON object, for catalogue recovery. Opaque to
  // the storage layer; "" = absent.
  std::string metadata_json;
};

std::string EncodeFooterJson(const ShardFooter& footer);
// kInvalidArgument unless `json` is an object with every field, of the right
// type and range, and format_version 1. Unknown fields are ignored.
Result<ShardFooter> DecodeFooterJson(std::string_view json);

// The checksum of block `block_index`, as stored after it on disk and sent
// beside it on the wire.
uint64_t BlockChecksum(std::span<const uint8_t> payload, uint64_t block_index);

// Shard ids are "<32 lower-case hex digits>.<shard index 0..47>", e.g.
// "0123456789abcdef0123456789abcdef.3".
bool IsValidShardId(std::string_view shard_id);

// Writes one shard. Destroying an uncommitted writer removes its temporary
// file.
class ShardWriter {
 public:
  virtual ~ShardWriter() = default;
  // Appends the next block. `payload` must be exactly block_size_bytes long.
  // `checksum` is the sender's BlockChecksum of it; a mismatch is kCorrupt
  // (the bytes were damaged in transit) and nothing is written.
  virtual Status AppendBlock(std::span<const uint8_t> payload, uint64_t checksum) = 0;
  // Writes the footer and makes the shard durable and visible under its id,
  // replacing any earlier shard with the same id (and deleting a quarantined
  // copy of it: the shard is whole here again). footer.block_count and
  // footer.block_size_bytes must match what was appended.
  virtual Status Commit(const ShardFooter& footer) = 0;
  virtual uint64_t blocks_written() const = 0;
};

// Reads one shard, verifying as it goes.
class ShardReader {
 public:
  virtual ~ShardReader() = default;
  virtual const ShardFooter& footer() const = 0;
  // Reads and verifies block `block_index` into `out` (block_size_bytes long)
  // and returns its checksum. kCorrupt if the block fails verification,
  // kInvalidArgument if the index is past the end. On error `out` holds
  // unspecified bytes that must not be used.
  virtual Result<uint64_t> ReadBlock(uint64_t block_index, std::span<uint8_t> out) = 0;
};

// What scrubbing one shard found (ShardStore::Scrub).
enum class ScrubVerdict {
  kClean,        // tail, footer and every block verified
  kQuarantined,  // failed verification (or a block could not be read at all)
                 // and was moved to quarantine/
  kGone,         // removed or replaced while it was being read: not judged
  kStopped,      // the pacer asked to stop before the end: not judged
};

struct ScrubOutcome {
  ScrubVerdict verdict = ScrubVerdict::kClean;
  uint64_t bytes_read = 0;
  std::string problem;  // for kQuarantined: what failed
};

// Called before each read of `bytes` bytes while scrubbing; may sleep to pace
// the scrub. Returning false stops it (kStopped).
using ScrubPacer = std::function<bool(uint64_t bytes)>;

struct StoreUsage {
  uint64_t shard_count = 0;
  uint64_t used_bytes = 0;       // bytes in shard files
  uint64_t capacity_bytes = 0;   // file-system size
  uint64_t available_bytes = 0;  // file-system free space
};

class ShardStore {
 public:
  // Opens (creating if needed) a store under `data_dir`, and removes
  // temporary files left by writes that never committed (a crash or a
  // dropped connection).
  static Result<std::unique_ptr<ShardStore>> Open(const std::filesystem::path& data_dir);
  virtual ~ShardStore() = default;

  // Starts writing a shard. block_size_bytes in [1, 16 MiB]. Writers may
  // outlive the store object.
  virtual Result<std::unique_ptr<ShardWriter>> Create(std::string_view shard_id,
                                                      uint32_t block_size_bytes) = 0;
  // kNotFound if absent; kCorrupt if the footer or tail fails verification.
  virtual Result<std::unique_ptr<ShardReader>> OpenShard(std::string_view shard_id) = 0;
  // Removes a committed shard durably, and its quarantined copy if any.
  // kNotFound if neither exists.
  virtual Status Remove(std::string_view shard_id) = 0;
  // Ids of the committed shards whose id starts with `id_prefix`, sorted
  // ("" = all). A prefix of two or more hex digits reads one directory only,
  // so a walk over "00".."ff" never holds the whole store's ids in memory.
  virtual Result<std::vector<std::string>> List(std::string_view id_prefix) = 0;
  // Reads committed shard `shard_id` end to end through a file descriptor of
  // its own and verifies tail, footer and every block checksum. Holds no lock
  // while reading: reads, writes and removals of the shard go on meanwhile.
  // Cached pages of the file are dropped before and after, so the bytes
  // verified are the ones on the medium and the scrub does not evict the
  // page cache's hot set with its own reads. A shard that fails is moved to
  // quarantine/ (kQuarantined) -- unless the file under its id was replaced
  // or removed meanwhile (kGone): only the file that was read is judged.
  // kNotFound if absent; kIo if it cannot be opened (left in place).
  virtual Result<ScrubOutcome> Scrub(std::string_view shard_id, const ScrubPacer& pace) = 0;
  // Ids of the shards in quarantine/: found corrupt by a scrub and neither
  // committed here again nor removed since.
  virtual Result<std::vector<std::string>> ListQuarantined() = 0;
  virtual StoreUsage Usage() = 0;
  // True after an fsync failure: the store refuses writes from then on.
  virtual bool read_only() const = 0;
};

}  // namespace holdfast::storage
