#include "ec/codec.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ec/fused_encode.h"

namespace holdfast::ec {
namespace {

using Block = std::vector<uint8_t>;

std::shared_ptr<const Codec> MakeCodec(int k, int m) {
  auto codec = Codec::Create(k, m);
  EXPECT_TRUE(codec.ok()) << codec.error().message;
  return *codec;
}

// One encoded stripe of k+m blocks, plus helpers to damage and repair copies.
struct Stripe {
  const Codec* codec;
  size_t block_size_bytes;
  std::vector<Block> blocks;  // indexed by shard

  Stripe(const Codec& c, size_t size, std::mt19937_64& rng)
      : codec(&c), block_size_bytes(size), blocks(c.total_shard_count(), Block(size)) {
    for (int i = 0; i < c.data_shard_count(); ++i) {
      std::generate(blocks[i].begin(), blocks[i].end(), [&] { return uint8_t(rng()); });
    }
    std::vector<const uint8_t*> data;
    std::vector<uint8_t*> parity;
    for (int i = 0; i < c.data_shard_count(); ++i) data.push_back(blocks[i].data());
    for (int i = c.data_shard_count(); i < c.total_shard_count(); ++i) {
      parity.push_back(blocks[i].data());
    }
    c.Encode(size, data, parity);
  }

  // Copies the stripe, scribbles over the erased blocks, reconstructs them,
  // and returns the repaired copy.
  std::vector<Block> Repair(const std::vector<int>& erased, Status* status) const {
    std::vector<Block> copy = blocks;
    for (int index : erased) {
      // Bad indices are passed through so the error cases can be tested.
      if (index < 0 || index >= int(copy.size())) continue;
      std::fill(copy[index].begin(), copy[index].end(), 0xA5);
    }
    std::vector<uint8_t*> pointers;
    for (Block& block : copy) pointers.push_back(block.data());
    *status = codec->Reconstruct(block_size_bytes, pointers, erased);
    return copy;
  }

  void ExpectRepairs(const std::vector<int>& erased) const {
    Status status;
    std::vector<Block> repaired = Repair(erased, &status);
    ASSERT_TRUE(status.ok()) << status.error().message;
    for (int i = 0; i < codec->total_shard_count(); ++i) {
      // Parity rebuilt by Reconstruct must match Encode byte for byte.
      ASSERT_EQ(repaired[i], blocks[i]) << "shard " << i << ", " << ErasedText(erased);
    }
  }

  static std::string ErasedText(const std::vector<int>& erased) {
    std::string text = "erased {";
    for (int index : erased) text += " " + std::to_string(index);
    return text + " }";
  }
};

std::vector<int> MaskToIndices(uint64_t mask) {
  std::vector<int> indices;
  for (; mask != 0; mask &= mask - 1) indices.push_back(std::countr_zero(mask));
  return indices;
}

// Every erasure pattern of 1..m shards, for small codes and odd block sizes.
struct Shape {
  int k;
  int m;
};
void PrintTo(const Shape& shape, std::ostream* os) {
  *os << "(" << shape.k << ", " << shape.m << ")";
}

class ExhaustiveTest : public testing::TestWithParam<std::tuple<Shape, size_t>> {};

TEST_P(ExhaustiveTest, EveryPatternRepairs) {
  const auto [shape, block_size_bytes] = GetParam();
  const auto [k, m] = shape;
  std::mt19937_64 rng(k * 1000 + m * 100 + block_size_bytes);
  auto codec = MakeCodec(k, m);
  Stripe stripe(*codec, block_size_bytes, rng);
  int pattern_count = 0;
  for (uint64_t mask = 1; mask < (uint64_t{1} << (k + m)); ++mask) {
    if (std::popcount(mask) > m) continue;
    std::vector<int> erased = MaskToIndices(mask);
    std::shuffle(erased.begin(), erased.end(), rng);  // order must not matter
    stripe.ExpectRepairs(erased);
    ++pattern_count;
  }
  EXPECT_GT(pattern_count, 0);
}

INSTANTIATE_TEST_SUITE_P(SmallCodes, ExhaustiveTest,
                         testing::Combine(testing::Values(Shape{4, 2}, Shape{3, 3}, Shape{5, 4}),
                                          testing::Values(size_t{1}, size_t{7}, size_t{4096 + 3})),
                         [](const auto& info) {
                           const Shape shape = std::get<0>(info.param);
                           return "k" + std::to_string(shape.k) + "m" + std::to_string(shape.m) +
                                  "b" + std::to_string(std::get<1>(info.param));
                         });

TEST(CodecTest, RandomCodesAndPatterns) {
  std::mt19937_64 rng(42);
  for (int iteration = 0; iteration < 300; ++iteration) {
    const int k = 1 + rng() % kMaxDataShards;
    const int m = rng() % (kMaxParityShards + 1);
    const size_t block_size_bytes = 1 + rng() % 700;
    auto codec = MakeCodec(k, m);
    Stripe stripe(*codec, block_size_bytes, rng);
    std::vector<int> all(k + m);
    for (int i = 0; i < k + m; ++i) all[i] = i;
    std::shuffle(all.begin(), all.end(), rng);
    const int erased_count = m == 0 ? 0 : 1 + rng() % m;
    stripe.ExpectRepairs({all.begin(), all.begin() + erased_count});
  }
}

TEST(CodecTest, LargestCodeLosesMaximumShards) {
  std::mt19937_64 rng(7);
  auto codec = MakeCodec(kMaxDataShards, kMaxParityShards);
  Stripe stripe(*codec, 1031, rng);
  std::vector<int> first_data, last_data, all_parity;
  for (int i = 0; i < kMaxParityShards; ++i) {
    first_data.push_back(i);
    last_data.push_back(kMaxDataShards - 1 - i);
    all_parity.push_back(kMaxDataShards + i);
  }
  stripe.ExpectRepairs(first_data);
  stripe.ExpectRepairs(last_data);
  stripe.ExpectRepairs(all_parity);
}

// (10, 4) has 1470 patterns, far beyond the decode-table cache; walking them
// twice exercises eviction and re-building evicted plans.
TEST(CodecTest, MorePatternsThanCacheHolds) {
  std::mt19937_64 rng(3);
  auto codec = MakeCodec(10, 4);
  Stripe stripe(*codec, 64, rng);
  for (int pass = 0; pass < 2; ++pass) {
    for (uint64_t mask = 1; mask < (uint64_t{1} << 14); ++mask) {
      if (std::popcount(mask) <= 4) stripe.ExpectRepairs(MaskToIndices(mask));
    }
  }
}

TEST(CodecTest, ConcurrentReconstructsShareCache) {
  std::mt19937_64 rng(11);
  auto codec = MakeCodec(6, 3);
  Stripe stripe(*codec, 999, rng);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&stripe, t] {
      for (int round = 0; round < 50; ++round) {
        stripe.ExpectRepairs({(t + round) % 9, (t + round + 4) % 9});
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
}

TEST(CodecTest, EncodeLeavesDataUntouched) {
  std::mt19937_64 rng(5);
  auto codec = MakeCodec(4, 2);
  Stripe stripe(*codec, 100, rng);
  std::mt19937_64 replay(5);
  for (int i = 0; i < 4; ++i) {
    for (uint8_t byte : stripe.blocks[i]) ASSERT_EQ(byte, uint8_t(replay()));
  }
}

TEST(CodecTest, NoParityCodeWorks) {
  std::mt19937_64 rng(9);
  auto codec = MakeCodec(3, 0);
  Stripe stripe(*codec, 17, rng);  // Encode must be a no-op with no parity
  stripe.ExpectRepairs({});
  Status status;
  stripe.Repair({0}, &status);
  EXPECT_FALSE(status.ok());
}

TEST(CodecTest, EmptyBlocksAreFine) {
  std::mt19937_64 rng(1);
  auto codec = MakeCodec(4, 2);
  Stripe stripe(*codec, 0, rng);
  stripe.ExpectRepairs({0, 5});
}

TEST(CodecTest, CreateRejectsBadShardCounts) {
  for (auto [k, m] : {std::pair{0, 2}, {-1, 2}, {33, 1}, {4, -1}, {4, 17}}) {
    auto codec = Codec::Create(k, m);
    ASSERT_FALSE(codec.ok()) << k << "," << m;
    EXPECT_EQ(codec.error().code, Errc::kInvalidArgument);
    EXPECT_FALSE(codec.error().message.empty());
  }
  EXPECT_TRUE(Codec::Create(1, 0).ok());
  EXPECT_TRUE(Codec::Create(kMaxDataShards, kMaxParityShards).ok());
}

TEST(CodecTest, ReconstructRejectsBadErasures) {
  std::mt19937_64 rng(2);
  auto codec = MakeCodec(4, 2);
  Stripe stripe(*codec, 33, rng);
  const std::vector<std::vector<int>> bad = {
      {0, 1, 2},  // more than m
      {-1},       // below range
      {6},        // k+m is out of range
      {3, 3},     // duplicate
  };
  for (const std::vector<int>& erased : bad) {
    Status status;
    stripe.Repair(erased, &status);
    ASSERT_FALSE(status.ok()) << Stripe::ErasedText(erased);
    EXPECT_EQ(status.error().code, Errc::kInvalidArgument);
    EXPECT_NE(status.error().message.find("ec:"), std::string::npos);
  }
}

TEST(CodecTest, ReconstructRejectsWrongShardCount) {
  auto codec = MakeCodec(4, 2);
  std::vector<Block> blocks(5, Block(8));
  std::vector<uint8_t*> pointers;
  for (Block& block : blocks) pointers.push_back(block.data());
  const int erased[] = {0};
  Status status = codec->Reconstruct(8, pointers, erased);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, Errc::kInvalidArgument);
}

TEST(CodecTest, ReconstructRebuildsOnlyTheWantedShards) {
  std::mt19937_64 rng(5);
  for (auto [k, m] : {std::pair{5, 4}, {4, 2}, {10, 4}}) {
    auto codec = MakeCodec(k, m);
    Stripe stripe(*codec, 4096 + 64, rng);
    // Every parity shard and the first data shard unread, as when a repair
    // reads k blocks; only one of them is wanted at a time.
    std::vector<int> erased = {0};
    for (int p = k + 1; p < k + m; ++p) erased.push_back(p);
    for (int wanted : erased) {
      std::vector<Block> copy = stripe.blocks;
      for (int index : erased) std::fill(copy[index].begin(), copy[index].end(), 0xA5);
      std::vector<uint8_t*> pointers;
      for (Block& block : copy) pointers.push_back(block.data());
      const int wanted_list[] = {wanted};
      Status status = codec->Reconstruct(stripe.block_size_bytes, pointers, erased, wanted_list);
      ASSERT_TRUE(status.ok()) << status.error().message;
      for (int index : erased) {
        if (index == wanted) {
          EXPECT_EQ(copy[index], stripe.blocks[index]) << "wanted shard " << index;
        } else {
          EXPECT_TRUE(std::all_of(copy[index].begin(), copy[index].end(), [](uint8_t b) { return b == 0xA5; }))
              << "shard " << index << " was not wanted but was written";
        }
      }
    }
  }
}

TEST(CodecTest, ReconstructRefusesAWantedShardThatIsNotErased) {
  std::mt19937_64 rng(6);
  auto codec = MakeCodec(4, 2);
  Stripe stripe(*codec, 64, rng);
  std::vector<uint8_t*> pointers;
  for (Block& block : stripe.blocks) pointers.push_back(block.data());
  const int erased[] = {1};
  const int wanted[] = {2};
  Status status = codec->Reconstruct(64, pointers, erased, wanted);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, Errc::kInvalidArgument);
  EXPECT_NE(status.error().message.find("not among the erased"), std::string::npos);
}

// EncodeAndChecksum must give exactly Encode's parity and XXH3-64 (seeded) of
// every block, whichever path it takes: the fused AVX2 pass for sizes it
// takes, encode-then-hash for the rest. Buffers are deliberately misaligned.
void ExpectEncodeAndChecksumMatches(int k, int m, size_t size, uint64_t seed, size_t misalign,
                                    std::mt19937_64& rng) {
  SCOPED_TRACE("k=" + std::to_string(k) + " m=" + std::to_string(m) + " size=" + std::to_string(size) +
               " seed=" + std::to_string(seed) + " misalign=" + std::to_string(misalign));
  auto codec = MakeCodec(k, m);
  std::vector<Block> storage(k + 2 * m, Block(size + misalign));
  std::vector<const uint8_t*> data;
  std::vector<uint8_t*> parity, expected_parity;
  for (int i = 0; i < k; ++i) {
    std::generate(storage[i].begin(), storage[i].end(), [&] { return uint8_t(rng()); });
    data.push_back(storage[i].data() + misalign);
  }
  for (int i = 0; i < m; ++i) {
    std::fill(storage[k + i].begin(), storage[k + i].end(), 0xA5);  // stale bytes must be overwritten
    parity.push_back(storage[k + i].data() + misalign);
    expected_parity.push_back(storage[k + m + i].data() + misalign);
  }
  codec->Encode(size, data, expected_parity);
  std::vector<uint64_t> checksums(k + m);
  codec->EncodeAndChecksum(size, data, parity, seed, checksums);
  for (int i = 0; i < m; ++i) {
    ASSERT_TRUE(std::equal(parity[i], parity[i] + size, expected_parity[i])) << "parity " << i;
  }
  for (int i = 0; i < k; ++i) {
    ASSERT_EQ(checksums[i], XXH3_64bits_withSeed(data[i], size, seed)) << "data block " << i;
  }
  for (int i = 0; i < m; ++i) {
    ASSERT_EQ(checksums[k + i], XXH3_64bits_withSeed(parity[i], size, seed)) << "parity block " << i;
  }
}

TEST(CodecTest, EncodeAndChecksumMatchesEncodeThenHash) {
  std::mt19937_64 rng(11);
  // Sizes around XXH3's 240-byte threshold, its 1 KiB scramble period, and
  // odd ones the fused pass does not take.
  const size_t sizes[] = {0, 1, 63, 240, 241, 256, 320, 1024, 1088, 4160, 65536 + 64, 65537};
  const std::pair<int, int> codes[] = {{1, 1}, {2, 1}, {4, 2}, {5, 4}, {6, 3}, {3, 5},
                                       {10, 4}, {7, 6}, {9, 9}, {32, 16}, {4, 0}};
  for (auto [k, m] : codes) {
    for (size_t size : sizes) {
      const uint64_t seed = rng() % 3 == 0 ? 0 : rng();
      ExpectEncodeAndChecksumMatches(k, m, size, seed, size % 3, rng);
    }
  }
  ExpectEncodeAndChecksumMatches(4, 2, size_t{1} << 20, 12345, 0, rng);
  ExpectEncodeAndChecksumMatches(10, 4, (size_t{1} << 20) + 64, 0, 16, rng);
}

TEST(CodecTest, FusedPassRunsWhereTheCpuAllows) {
  // Without this, a broken CanFuse would send every PUT down the slow path
  // and the test above would still pass.
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2")) {
    EXPECT_TRUE(internal::CanFuse(size_t{1} << 20));
    EXPECT_TRUE(internal::CanFuse(256));
  } else {
    EXPECT_FALSE(internal::CanFuse(size_t{1} << 20));
  }
#endif
  EXPECT_FALSE(internal::CanFuse(192));
  EXPECT_FALSE(internal::CanFuse(1000));
}

}  // namespace
}  // namespace holdfast::ec
