// Erasure-coding throughput on 1 MiB blocks, the PUT path's unit of work.
//
// Every row reports bytes/second of *data* (k MiB per stripe), so rows for the
// same code compare directly:
//   isal_encode          raw ec_encode_data, the ceiling for encoding
//   codec_encode         Codec::Encode, should match isal_encode
//   codec_path           Codec::Encode + XXH3 of every data and parity block,
//                        what a PUT does per stripe (storage/ hashes blocks
//                        with the same run-time-dispatched XXH3)
//   codec_path_sse2      the same with libxxhash's baseline SSE2 XXH3, to show
//                        what the dispatch buys
//   codec_path_sliced    the same work done 256 KiB at a time, hashing each
//                        slice while it is still in cache
//   reconstruct          rebuilding `lost` data shards (parity-only loss costs
//                        the same as encode)
//   memcpy, xxh3*        reference points over k MiB
//
// Times are CPU time: the machine is shared, and every benchmark is one thread.
#include <benchmark/benchmark.h>
#include <isa-l.h>

#define XXH_DISPATCH_DISABLE_REPLACE  // name both XXH3 variants explicitly
#include <xxhash.h>
#if defined(__x86_64__) && __has_include(<xxh_x86dispatch.h>)
#include <xxh_x86dispatch.h>
// Run-time dispatch picks AVX2/AVX-512 when the CPU has them.
#define HF_XXH3_FAST XXH3_64bits_withSeed_dispatch
#define HF_XXH3_UPDATE XXH3_64bits_update_dispatch
#else
#define HF_XXH3_FAST XXH3_64bits_withSeed
#define HF_XXH3_UPDATE XXH3_64bits_update
#endif

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ec/codec.h"

namespace {

using holdfast::ec::Codec;
using ChecksumFn = XXH64_hash_t (*)(const void*, size_t, XXH64_hash_t);

constexpr size_t kBlockBytes = size_t{1} << 20;
constexpr size_t kSliceBytes = size_t{256} << 10;
constexpr double kMinTimeSeconds = 0.2;
// storage::BlockChecksum seeds XXH3 with the block's index within its shard,
// i.e. the stripe number; every stripe here is stripe 0.
constexpr uint64_t kStripeIndex = 0;

// k+m blocks of kBlockBytes, data blocks filled with random bytes.
struct StripeBuffers {
  int k;
  int m;
  std::vector<std::vector<uint8_t>> blocks;
  std::vector<uint8_t*> pointers;  // one per shard

  StripeBuffers(int data_count, int parity_count)
      : k(data_count), m(parity_count), blocks(k + m, std::vector<uint8_t>(kBlockBytes)) {
    std::mt19937_64 rng(k * 100 + m);
    for (int i = 0; i < k; ++i) {
      for (uint8_t& byte : blocks[i]) byte = uint8_t(rng());
    }
    for (auto& block : blocks) pointers.push_back(block.data());
  }
  explicit StripeBuffers(const benchmark::State& state)
      : StripeBuffers(int(state.range(0)), int(state.range(1))) {}

  // Views of the stripe starting `offset` bytes into every block.
  std::vector<uint8_t*> At(size_t offset) const {
    std::vector<uint8_t*> shifted = pointers;
    for (uint8_t*& p : shifted) p += offset;
    return shifted;
  }
};

void Encode(const Codec& codec, size_t bytes, const std::vector<uint8_t*>& shards) {
  const auto k = size_t(codec.data_shard_count());
  codec.Encode(bytes, {const_cast<const uint8_t* const*>(shards.data()), k},
               {shards.data() + k, size_t(codec.parity_shard_count())});
}

std::shared_ptr<const Codec> MakeCodec(const StripeBuffers& stripe) {
  return *Codec::Create(stripe.k, stripe.m);
}

void SetDataBytes(benchmark::State& state, int k) {
  state.SetBytesProcessed(int64_t(state.iterations()) * k * int64_t(kBlockBytes));
}

void BM_Memcpy(benchmark::State& state) {
  const int k = int(state.range(0));
  std::vector<uint8_t> src(k * kBlockBytes, 1), dst(k * kBlockBytes);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), src.size());
    benchmark::ClobberMemory();
  }
  SetDataBytes(state, k);
}

void BM_Xxh3(benchmark::State& state, ChecksumFn checksum) {
  StripeBuffers stripe(int(state.range(0)), 0);
  for (auto _ : state) {
    for (uint8_t* block : stripe.pointers) {
      benchmark::DoNotOptimize(checksum(block, kBlockBytes, kStripeIndex));
    }
  }
  SetDataBytes(state, stripe.k);
}

void BM_IsalEncode(benchmark::State& state) {
  StripeBuffers stripe(state);
  const int k = stripe.k, m = stripe.m;
  std::vector<uint8_t> matrix((k + m) * k), gf_tables(k * m * 32);
  gf_gen_cauchy1_matrix(matrix.data(), k + m, k);
  ec_init_tables(k, m, &matrix[k * k], gf_tables.data());
  for (auto _ : state) {
    ec_encode_data(int(kBlockBytes), k, m, gf_tables.data(), stripe.pointers.data(),
                   stripe.pointers.data() + k);
    benchmark::ClobberMemory();
  }
  SetDataBytes(state, k);
}

void BM_CodecEncode(benchmark::State& state) {
  StripeBuffers stripe(state);
  auto codec = MakeCodec(stripe);
  for (auto _ : state) {
    Encode(*codec, kBlockBytes, stripe.pointers);
    benchmark::ClobberMemory();
  }
  SetDataBytes(state, stripe.k);
}

// Encode, then checksum all k+m whole blocks, as gateway/object_writer does.
void BM_CodecPath(benchmark::State& state, ChecksumFn checksum) {
  StripeBuffers stripe(state);
  auto codec = MakeCodec(stripe);
  for (auto _ : state) {
    Encode(*codec, kBlockBytes, stripe.pointers);
    for (uint8_t* block : stripe.pointers) {
      benchmark::DoNotOptimize(checksum(block, kBlockBytes, kStripeIndex));
    }
  }
  SetDataBytes(state, stripe.k);
}

struct Xxh3StateDeleter {
  void operator()(XXH3_state_t* state) const { XXH3_freeState(state); }
};
using Xxh3State = std::unique_ptr<XXH3_state_t, Xxh3StateDeleter>;

// The codec path done slice by slice: each slice of data is hashed, encoded
// and its parity hashed while it is still in L2. Digests equal the one-shot
// XXH3 of each whole block. On the dev box (32 MiB L3) this gains nothing over
// codec_path: the checksum cost is arithmetic, not cache misses.
void BM_CodecPathSliced(benchmark::State& state) {
  StripeBuffers stripe(state);
  auto codec = MakeCodec(stripe);
  const int n = stripe.k + stripe.m;
  std::vector<Xxh3State> hashes;
  for (int i = 0; i < n; ++i) hashes.emplace_back(XXH3_createState());
  for (auto _ : state) {
    for (int i = 0; i < n; ++i) XXH3_64bits_reset_withSeed(hashes[i].get(), kStripeIndex);
    for (size_t offset = 0; offset < kBlockBytes; offset += kSliceBytes) {
      const std::vector<uint8_t*> slice = stripe.At(offset);
      for (int i = 0; i < stripe.k; ++i) HF_XXH3_UPDATE(hashes[i].get(), slice[i], kSliceBytes);
      Encode(*codec, kSliceBytes, slice);
      for (int i = stripe.k; i < n; ++i) HF_XXH3_UPDATE(hashes[i].get(), slice[i], kSliceBytes);
    }
    for (auto& hash : hashes) benchmark::DoNotOptimize(XXH3_64bits_digest(hash.get()));
  }
  SetDataBytes(state, stripe.k);
}

// Rebuilds range(2) data shards.
void BM_Reconstruct(benchmark::State& state) {
  StripeBuffers stripe(state);
  auto codec = MakeCodec(stripe);
  Encode(*codec, kBlockBytes, stripe.pointers);
  std::vector<int> erased(state.range(2));
  for (int i = 0; i < int(erased.size()); ++i) erased[i] = i;
  for (auto _ : state) {
    if (!codec->Reconstruct(kBlockBytes, stripe.pointers, erased).ok()) {
      state.SkipWithError("Reconstruct failed");
      break;
    }
    benchmark::ClobberMemory();
  }
  SetDataBytes(state, stripe.k);
}

void Codes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"k", "m"})->Args({4, 2})->Args({6, 3})->Args({10, 4});
}

void DataCounts(benchmark::internal::Benchmark* b) { b->ArgNames({"k"})->Arg(4)->Arg(6)->Arg(10); }

void LossPatterns(benchmark::internal::Benchmark* b) {
  b->ArgNames({"k", "m", "lost"});
  for (auto [k, m] : {std::pair{4, 2}, {6, 3}, {10, 4}}) b->Args({k, m, 1})->Args({k, m, m});
}

void Register(const std::string& name, benchmark::internal::Benchmark* b,
              void (*args)(benchmark::internal::Benchmark*)) {
  b->Name(name)->Apply(args)->MinTime(kMinTimeSeconds)->Unit(benchmark::kMillisecond);
}

const bool kRegistered = [] {
  using benchmark::RegisterBenchmark;
  Register("memcpy", RegisterBenchmark("", BM_Memcpy), DataCounts);
  Register("xxh3", RegisterBenchmark("", BM_Xxh3, &HF_XXH3_FAST), DataCounts);
  Register("xxh3_sse2", RegisterBenchmark("", BM_Xxh3, &XXH3_64bits_withSeed), DataCounts);
  Register("isal_encode", RegisterBenchmark("", BM_IsalEncode), Codes);
  Register("codec_encode", RegisterBenchmark("", BM_CodecEncode), Codes);
  Register("codec_path", RegisterBenchmark("", BM_CodecPath, &HF_XXH3_FAST), Codes);
  Register("codec_path_sse2", RegisterBenchmark("", BM_CodecPath, &XXH3_64bits_withSeed), Codes);
  Register("codec_path_sliced", RegisterBenchmark("", BM_CodecPathSliced), Codes);
  Register("reconstruct", RegisterBenchmark("", BM_Reconstruct), LossPatterns);
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
