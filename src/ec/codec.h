// ec: systematic Reed-Solomon erasure coding over ISA-L.  Start here for ec/.
//
// A code (k, m) turns k equally sized data blocks into m parity blocks. Any k
// of the k+m blocks of a stripe are enough to rebuild all the others.
//
//     data blocks         parity blocks
//   [ D0 ][ D1 ] .. [Dk-1] [ P0 ] .. [Pm-1]      one stripe, each block B bytes
//     shard 0 .. shard k-1   shard k .. shard k+m-1
//
// The code is systematic: the data blocks are stored as they are, so a reader
// that has all data shards needs no decoding at all.
//
// Worked example, (4, 2) with B = 1 MiB: a 4 MiB stripe becomes 6 blocks;
// losing any two of them (say D1 and P0) is repaired by
//   Reconstruct(B, blocks, /*erased=*/{1, 4}).
//
// The codec knows only codes and buffers: nothing about nodes, providers or
// objects. It is immutable after Create() and safe to use from many threads
// at once (decode tables are cached under an internal mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "common/result.h"

namespace holdfast::ec {

inline constexpr int kMaxDataShards = 32;
inline constexpr int kMaxParityShards = 16;

class Codec {
 public:
  // k in [1, 32], m in [0, 16]. kInvalidArgument otherwise.
  static Result<std::shared_ptr<const Codec>> Create(int data_shard_count, int parity_shard_count);

  int data_shard_count() const { return k_; }
  int parity_shard_count() const { return m_; }
  int total_shard_count() const { return k_ + m_; }

  // Computes the m parity blocks of one stripe. `data` holds k pointers to
  // blocks of `block_size_bytes`; `parity` holds m pointers to output buffers
  // of the same size. Buffers must not overlap.
  void Encode(size_t block_size_bytes, std::span<const uint8_t* const> data,
              std::span<uint8_t* const> parity) const;

  // Encode, plus a checksum of every block of the stripe: checksums[i] is
  // XXH3-64 of block i (data blocks 0..k-1, then parity), seeded with
  // `checksum_seed`. That is storage/'s block checksum (storage::BlockChecksum
  // seeds it with the block's index within its shard), so a PUT gets the
  // parity and everything it sends to the nodes in one call. With AVX2 and
  // blocks a multiple of 64 bytes (at least 256), parity and checksums come
  // from one pass over the stripe (fused_encode.h), ~1.3x faster than Encode
  // followed by hashing; other sizes and CPUs take the two steps.
  // `checksums` holds k+m entries.
  void EncodeAndChecksum(size_t block_size_bytes, std::span<const uint8_t* const> data,
                         std::span<uint8_t* const> parity, uint64_t checksum_seed,
                         std::span<uint64_t> checksums) const;

  // Rebuilds the blocks listed in `erased_shard_indices` (each in [0, k+m),
  // no duplicates) in place. `shards` holds k+m pointers, one per shard index;
  // every shard not listed as erased must hold valid bytes. Erased buffers are
  // overwritten. kInvalidArgument if more than m shards are erased or an index
  // is out of range.
  Status Reconstruct(size_t block_size_bytes, std::span<uint8_t* const> shards,
                     std::span<const int> erased_shard_indices) const;

  // The same, rebuilding only `wanted_shard_indices` (each one of the
  // erased); the other erased buffers are left as they are. Decoding costs
  // per output block: a repair that read k blocks to rebuild one shard of a
  // 5+4 code does a quarter of the work of rebuilding all four it did not
  // read. kInvalidArgument also for a wanted index that is not erased.
  Status Reconstruct(size_t block_size_bytes, std::span<uint8_t* const> shards,
                     std::span<const int> erased_shard_indices,
                     std::span<const int> wanted_shard_indices) const;

  ~Codec();
  Codec(const Codec&) = delete;
  Codec& operator=(const Codec&) = delete;

 private:
  struct Tables;
  Codec(int k, int m);
  int k_;
  int m_;
  std::unique_ptr<Tables> tables_;
};

}  // namespace holdfast::ec
