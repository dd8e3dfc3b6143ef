#include "ec/codec.h"

#include <isa-l.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ec/fused_encode.h"

#if defined(__x86_64__) && __has_include(<xxh_x86dispatch.h>)
// Run-time dispatch picks AVX2/AVX-512 XXH3 when the CPU has them (same
// output as the baseline build); storage/ hashes with the same.
#include <xxh_x86dispatch.h>
#endif

namespace holdfast::ec {
namespace {

constexpr int kMaxTotalShards = kMaxDataShards + kMaxParityShards;
static_assert(kMaxTotalShards <= 64, "shard sets are kept in 64-bit masks");

// Repair and degraded reads hit the same few erasure patterns over and over;
// 256 entries of at most k*m*32 = 16 KiB each bound the cache at 4 MiB.
constexpr size_t kDecodeCacheCapacity = 256;

// ec_encode_data takes an int length; larger blocks are coded in slices.
constexpr size_t kMaxSliceBytes = size_t{1} << 30;

// ISA-L expands each coefficient into 32 bytes of lookup tables.
constexpr size_t kGfTableBytesPerCoefficient = 32;

using ShardMask = uint64_t;
using PointerArray = std::array<uint8_t*, kMaxTotalShards>;

// Everything one ec_encode_data call needs to rebuild one erasure pattern:
// read `survivors`, write `outputs`, both in ascending shard order.
struct DecodePlan {
  std::vector<int> survivors;      // k shard indices
  std::vector<int> outputs;        // erased shard indices
  std::vector<uint8_t> gf_tables;  // ec_init_tables(k, outputs.size(), ...)
};

struct PlanKey {
  ShardMask erased;
  ShardMask survivors;
  ShardMask outputs;  // the erased shards to rebuild
  auto operator<=>(const PlanKey&) const = default;
};

Error InvalidArgument(std::string message) {
  return MakeError(Errc::kInvalidArgument, "ec: " + std::move(message));
}

// Codes `len` bytes of every source into every destination, slicing so that
// block sizes beyond INT_MAX still work.
void CodeBlocks(size_t len, int src_count, int dst_count, const uint8_t* gf_tables,
                PointerArray src, PointerArray dst) {
  while (len > 0) {
    const size_t slice = std::min(len, kMaxSliceBytes);
    // ISA-L's API is not const-correct; it never writes tables or sources.
    ec_encode_data(static_cast<int>(slice), src_count, dst_count, const_cast<uint8_t*>(gf_tables),
                   src.data(), dst.data());
    len -= slice;
    if (len == 0) break;
    for (int i = 0; i < src_count; ++i) src[i] += slice;
    for (int i = 0; i < dst_count; ++i) dst[i] += slice;
  }
}

// The first k shards not erased. Data shards have the lowest indices, so this
// prefers them: with every data shard present the decode matrix is identity.
ShardMask ChooseSurvivors(int k, ShardMask erased) {
  ShardMask survivors = 0;
  for (int i = 0; std::popcount(survivors) < k; ++i) {
    const ShardMask bit = ShardMask{1} << i;
    if (!(erased & bit)) survivors |= bit;
  }
  return survivors;
}

std::vector<int> MaskToIndices(ShardMask mask) {
  std::vector<int> indices;
  for (; mask != 0; mask &= mask - 1) indices.push_back(std::countr_zero(mask));
  return indices;
}

// Builds the rows that turn the chosen survivors into the erased shards.
// Survivors S satisfy S = B * D for the k x k matrix B of their encode rows, so
// D = B^-1 * S: an erased data shard d is row d of B^-1, and an erased parity
// shard p is (encode row p) * B^-1.
std::shared_ptr<const DecodePlan> BuildPlan(int k, const std::vector<uint8_t>& encode_matrix,
                                            const PlanKey& key) {
  std::vector<int> survivors = MaskToIndices(key.survivors);
  std::vector<int> outputs = MaskToIndices(key.outputs);
  std::vector<uint8_t> b(k * k), b_inverse(k * k);
  for (int r = 0; r < k; ++r) {
    std::copy_n(&encode_matrix[survivors[r] * k], k, &b[r * k]);
  }
  // A Cauchy matrix stacked under identity has every k x k submatrix invertible.
  [[maybe_unused]] const int singular = gf_invert_matrix(b.data(), b_inverse.data(), k);
  assert(singular == 0);

  const int rows = static_cast<int>(outputs.size());
  std::vector<uint8_t> decode_matrix(rows * k, 0);
  for (int r = 0; r < rows; ++r) {
    const int shard = outputs[r];
    uint8_t* out = &decode_matrix[r * k];
    if (shard < k) {
      std::copy_n(&b_inverse[shard * k], k, out);
      continue;
    }
    const uint8_t* encode_row = &encode_matrix[shard * k];
    for (int j = 0; j < k; ++j) {
      for (int i = 0; i < k; ++i) out[j] ^= gf_mul(encode_row[i], b_inverse[i * k + j]);
    }
  }

  auto plan = std::make_shared<DecodePlan>();
  plan->gf_tables.resize(rows * k * kGfTableBytesPerCoefficient);
  ec_init_tables(k, rows, decode_matrix.data(), plan->gf_tables.data());
  plan->survivors = std::move(survivors);
  plan->outputs = std::move(outputs);
  return plan;
}

}  // namespace

struct Codec::Tables {
  std::vector<uint8_t> encode_matrix;     // (k+m) x k; top k rows are identity
  std::vector<uint8_t> encode_gf_tables;  // tables for the m parity rows
  std::vector<internal::NibbleTables> fused_tables;  // the same, laid out for fused_encode

  std::mutex cache_mutex;
  // Guarded by cache_mutex. plan_order lists keys oldest first, for FIFO
  // eviction: simpler than LRU and as good when the working set fits.
  std::map<PlanKey, std::shared_ptr<const DecodePlan>> plans;
  std::deque<PlanKey> plan_order;

  std::shared_ptr<const DecodePlan> FindPlan(const PlanKey& key);
  void StorePlan(const PlanKey& key, std::shared_ptr<const DecodePlan> plan);
};

std::shared_ptr<const DecodePlan> Codec::Tables::FindPlan(const PlanKey& key) {
  std::lock_guard lock(cache_mutex);
  auto it = plans.find(key);
  return it == plans.end() ? nullptr : it->second;
}

void Codec::Tables::StorePlan(const PlanKey& key, std::shared_ptr<const DecodePlan> plan) {
  std::lock_guard lock(cache_mutex);
  // Two threads may build the same plan at once; keep the first, both are equal.
  if (!plans.emplace(key, std::move(plan)).second) return;
  plan_order.push_back(key);
  if (plan_order.size() > kDecodeCacheCapacity) {
    plans.erase(plan_order.front());
    plan_order.pop_front();
  }
}

Result<std::shared_ptr<const Codec>> Codec::Create(int data_shard_count, int parity_shard_count) {
  if (data_shard_count < 1 || data_shard_count > kMaxDataShards) {
    return InvalidArgument("data shard count " + std::to_string(data_shard_count) +
                           " outside [1, " + std::to_string(kMaxDataShards) + "]");
  }
  if (parity_shard_count < 0 || parity_shard_count > kMaxParityShards) {
    return InvalidArgument("parity shard count " + std::to_string(parity_shard_count) +
                           " outside [0, " + std::to_string(kMaxParityShards) + "]");
  }
  return std::shared_ptr<const Codec>(new Codec(data_shard_count, parity_shard_count));
}

Codec::Codec(int k, int m) : k_(k), m_(m), tables_(std::make_unique<Tables>()) {
  tables_->encode_matrix.resize((k + m) * k);
  gf_gen_cauchy1_matrix(tables_->encode_matrix.data(), k + m, k);
  tables_->encode_gf_tables.resize(m * k * kGfTableBytesPerCoefficient);
  if (m > 0) {
    ec_init_tables(k, m, &tables_->encode_matrix[k * k], tables_->encode_gf_tables.data());
    tables_->fused_tables = internal::ExpandTables(tables_->encode_gf_tables.data(), m * k);
  }
}

Codec::~Codec() = default;

void Codec::Encode(size_t block_size_bytes, std::span<const uint8_t* const> data,
                   std::span<uint8_t* const> parity) const {
  assert(static_cast<int>(data.size()) == k_);
  assert(static_cast<int>(parity.size()) == m_);
  if (m_ == 0 || block_size_bytes == 0) return;
  PointerArray src{}, dst{};
  for (int i = 0; i < k_; ++i) src[i] = const_cast<uint8_t*>(data[i]);
  for (int i = 0; i < m_; ++i) dst[i] = parity[i];
  CodeBlocks(block_size_bytes, k_, m_, tables_->encode_gf_tables.data(), src, dst);
}

void Codec::EncodeAndChecksum(size_t block_size_bytes, std::span<const uint8_t* const> data,
                              std::span<uint8_t* const> parity, uint64_t checksum_seed,
                              std::span<uint64_t> checksums) const {
  assert(static_cast<int>(checksums.size()) == k_ + m_);
  if (m_ > 0 && internal::CanFuse(block_size_bytes)) {
    internal::FusedEncodeAndChecksum(block_size_bytes, k_, m_, tables_->fused_tables.data(), data.data(),
                                     parity.data(), checksum_seed, checksums.data());
    return;
  }
  Encode(block_size_bytes, data, parity);
  for (int i = 0; i < k_; ++i) checksums[i] = XXH3_64bits_withSeed(data[i], block_size_bytes, checksum_seed);
  for (int i = 0; i < m_; ++i) {
    checksums[k_ + i] = XXH3_64bits_withSeed(parity[i], block_size_bytes, checksum_seed);
  }
}

namespace {

// The erased shards as a mask, or kInvalidArgument naming what is wrong.
Result<ShardMask> ErasedMask(int k, int m, size_t shard_buffer_count,
                             std::span<const int> erased_shard_indices) {
  const int n = k + m;
  if (shard_buffer_count != static_cast<size_t>(n)) {
    return InvalidArgument("expected " + std::to_string(n) + " shard buffers, got " +
                           std::to_string(shard_buffer_count));
  }
  if (erased_shard_indices.size() > static_cast<size_t>(m)) {
    return InvalidArgument(std::to_string(erased_shard_indices.size()) +
                           " shards erased but the code tolerates at most " + std::to_string(m));
  }
  ShardMask erased = 0;
  for (int index : erased_shard_indices) {
    if (index < 0 || index >= n) {
      return InvalidArgument("erased shard index " + std::to_string(index) + " outside [0, " +
                             std::to_string(n) + ")");
    }
    const ShardMask bit = ShardMask{1} << index;
    if (erased & bit) {
      return InvalidArgument("erased shard index " + std::to_string(index) + " listed twice");
    }
    erased |= bit;
  }
  return erased;
}

}  // namespace

Status Codec::Reconstruct(size_t block_size_bytes, std::span<uint8_t* const> shards,
                          std::span<const int> erased_shard_indices) const {
  return Reconstruct(block_size_bytes, shards, erased_shard_indices, erased_shard_indices);
}

Status Codec::Reconstruct(size_t block_size_bytes, std::span<uint8_t* const> shards,
                          std::span<const int> erased_shard_indices,
                          std::span<const int> wanted_shard_indices) const {
  Result<ShardMask> erased = ErasedMask(k_, m_, shards.size(), erased_shard_indices);
  if (!erased.ok()) return erased.error();
  ShardMask wanted = 0;
  for (int index : wanted_shard_indices) {
    if (index < 0 || index >= k_ + m_ || !(*erased & (ShardMask{1} << index))) {
      return InvalidArgument("wanted shard index " + std::to_string(index) + " is not among the erased");
    }
    wanted |= ShardMask{1} << index;
  }
  if (wanted == 0 || block_size_bytes == 0) return Status::Ok();

  const PlanKey key{*erased, ChooseSurvivors(k_, *erased), wanted};
  std::shared_ptr<const DecodePlan> plan = tables_->FindPlan(key);
  if (!plan) {
    plan = BuildPlan(k_, tables_->encode_matrix, key);
    tables_->StorePlan(key, plan);
  }

  PointerArray src{}, dst{};
  for (int i = 0; i < k_; ++i) src[i] = shards[plan->survivors[i]];
  const int output_count = static_cast<int>(plan->outputs.size());
  for (int i = 0; i < output_count; ++i) dst[i] = shards[plan->outputs[i]];
  CodeBlocks(block_size_bytes, k_, output_count, plan->gf_tables.data(), src, dst);
  return Status::Ok();
}

}  // namespace holdfast::ec
