// Erasure-coding throughput on 1 MiB blocks, the PUT path's unit of work.
//
// Every row reports bytes/second of *data* (k MiB per stripe), so rows for the
// same code compare directly:
//   isal_encode          raw ec_encode_data, the ceiling for encoding
//   codec_encode         Codec::Encode, should match isal_encode
//   codec_path           Codec::EncodeAndChecksum: parity plus XXH3 of every
//                        data and parity block, what a PUT does per stripe
//                        (one fused pass on AVX2)
//   encode_then_hash     the same result in two steps, Codec::Encode and then
//                        libxxhash's run-time-dispatched XXH3 of each block:
//                        what the fused pass saves
//   reconstruct          rebuilding `lost` data shards (parity-only loss costs
//                        the same as encode)
//   memcpy, xxh3*        reference points over k MiB
//
// Times are CPU time: the machine is shared, and every benchmark is one thread.
//
// `ec_bench --interleaved` instead measures the codec path's ratio to raw
// ISA-L encode round by round (ISA-L, codec path, encode-then-hash, ISA-L
// again, ~30 ms each) and prints the median ratio: on a busy machine a
// neighbour's load shifts all rows of a round alike, not one row alone.
// Blocks start on cache lines, as in the gateway's stripe buffer.
#include <benchmark/benchmark.h>
#include <isa-l.h>

#define XXH_DISPATCH_DISABLE_REPLACE  // name both XXH3 variants explicitly
#include <xxhash.h>
#if defined(__x86_64__) && __has_include(<xxh_x86dispatch.h>)
#include <xxh_x86dispatch.h>
// Run-time dispatch picks AVX2/AVX-512 when the CPU has them.
#define HF_XXH3_FAST XXH3_64bits_withSeed_dispatch
#else
#define HF_XXH3_FAST XXH3_64bits_withSeed
#endif

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "ec/codec.h"

namespace {

using holdfast::ec::Codec;
using ChecksumFn = XXH64_hash_t (*)(const void*, size_t, XXH64_hash_t);

constexpr size_t kBlockBytes = size_t{1} << 20;
constexpr std::align_val_t kBlockAlignment{64};
constexpr double kMinTimeSeconds = 0.2;
// storage::BlockChecksum seeds XXH3 with the block's index within its shard,
// i.e. the stripe number; every stripe here is stripe 0.
constexpr uint64_t kStripeIndex = 0;

// k+m blocks of kBlockBytes, data blocks filled with random bytes.
struct StripeBuffers {
  struct AlignedDelete {
    void operator()(uint8_t* p) const { ::operator delete[](p, kBlockAlignment); }
  };
  int k;
  int m;
  std::vector<std::unique_ptr<uint8_t[], AlignedDelete>> blocks;
  std::vector<uint8_t*> pointers;  // one per shard

  StripeBuffers(int data_count, int parity_count) : k(data_count), m(parity_count) {
    std::mt19937_64 rng(k * 100 + m);
    for (int i = 0; i < k + m; ++i) {
      blocks.emplace_back(new (kBlockAlignment) uint8_t[kBlockBytes]());
      pointers.push_back(blocks.back().get());
      if (i < k) std::generate_n(pointers.back(), kBlockBytes, [&] { return uint8_t(rng()); });
    }
  }
  explicit StripeBuffers(const benchmark::State& state)
      : StripeBuffers(int(state.range(0)), int(state.range(1))) {}
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

// Parity and the checksum of all k+m blocks, as gateway/object_writer does.
void BM_CodecPath(benchmark::State& state) {
  StripeBuffers stripe(state);
  auto codec = MakeCodec(stripe);
  const auto k = size_t(stripe.k);
  std::vector<uint64_t> checksums(k + stripe.m);
  for (auto _ : state) {
    codec->EncodeAndChecksum(kBlockBytes, {const_cast<const uint8_t* const*>(stripe.pointers.data()), k},
                             {stripe.pointers.data() + k, size_t(stripe.m)}, kStripeIndex, checksums);
    benchmark::DoNotOptimize(checksums.data());
    benchmark::ClobberMemory();
  }
  SetDataBytes(state, stripe.k);
}

// The same result in two steps: encode, then hash every block.
void BM_EncodeThenHash(benchmark::State& state) {
  StripeBuffers stripe(state);
  auto codec = MakeCodec(stripe);
  for (auto _ : state) {
    Encode(*codec, kBlockBytes, stripe.pointers);
    for (uint8_t* block : stripe.pointers) {
      benchmark::DoNotOptimize(HF_XXH3_FAST(block, kBlockBytes, kStripeIndex));
    }
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
  Register("codec_path", RegisterBenchmark("", BM_CodecPath), Codes);
  Register("encode_then_hash", RegisterBenchmark("", BM_EncodeThenHash), Codes);
  Register("reconstruct", RegisterBenchmark("", BM_Reconstruct), LossPatterns);
  return true;
}();

}  // namespace

namespace {

double ThreadCpuSeconds() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return double(now.tv_sec) + double(now.tv_nsec) * 1e-9;
}

// Bytes of data per second that `work` (one stripe) achieves over >= 30 ms.
template <typename Work>
double DataRate(int k, Work&& work) {
  constexpr double kRoundSeconds = 0.03;
  const double start = ThreadCpuSeconds();
  int stripes = 0;
  double elapsed;
  do {
    work();
    ++stripes;
    elapsed = ThreadCpuSeconds() - start;
  } while (elapsed < kRoundSeconds);
  return double(k) * double(kBlockBytes) * stripes / elapsed;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

int RunInterleaved() {
  constexpr int kRounds = 31;
  std::printf("1 MiB blocks, median of %d interleaved rounds, CPU time\n", kRounds);
  std::printf("%-8s %14s %22s %22s\n", "code", "isal_encode", "codec_path / isal", "encode_then_hash / isal");
  for (auto [k, m] : {std::pair{4, 2}, {6, 3}, {10, 4}}) {
    StripeBuffers stripe(k, m);
    auto codec = MakeCodec(stripe);
    std::vector<uint8_t> matrix((k + m) * k), gf_tables(k * m * 32);
    gf_gen_cauchy1_matrix(matrix.data(), k + m, k);
    ec_init_tables(k, m, &matrix[k * k], gf_tables.data());
    std::vector<uint64_t> checksums(k + m);
    uint64_t sink = 0;
    auto isal = [&] {
      ec_encode_data(int(kBlockBytes), k, m, gf_tables.data(), stripe.pointers.data(), stripe.pointers.data() + k);
    };
    auto codec_path = [&] {
      codec->EncodeAndChecksum(kBlockBytes, {const_cast<const uint8_t* const*>(stripe.pointers.data()), size_t(k)},
                               {stripe.pointers.data() + k, size_t(m)}, kStripeIndex, checksums);
      sink += checksums[0];
    };
    auto encode_then_hash = [&] {
      Encode(*codec, kBlockBytes, stripe.pointers);
      for (uint8_t* block : stripe.pointers) sink += HF_XXH3_FAST(block, kBlockBytes, kStripeIndex);
    };
    std::vector<double> isal_rates, path_ratios, two_step_ratios;
    for (int round = 0; round < kRounds; ++round) {
      const double before = DataRate(k, isal);
      const double path = DataRate(k, codec_path);
      const double two_step = DataRate(k, encode_then_hash);
      const double reference = (before + DataRate(k, isal)) / 2;
      isal_rates.push_back(reference);
      path_ratios.push_back(path / reference);
      two_step_ratios.push_back(two_step / reference);
    }
    benchmark::DoNotOptimize(sink);
    std::printf("(%d,%d)    %9.2f GiB/s %21.0f%% %22.0f%%\n", k, m, Median(isal_rates) / double(1 << 30),
                100 * Median(path_ratios), 100 * Median(two_step_ratios));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--interleaved") return RunInterleaved();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
