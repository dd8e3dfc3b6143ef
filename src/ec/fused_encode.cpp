// The fused encode-and-checksum kernel (see fused_encode.h).
//
// Reed-Solomon parity: parity[j] = XOR over i of coefficient(j, i) * data[i]
// in GF(2^8). A byte times a constant is looked up by nibble, as ISA-L does:
// c*x = low_table[x & 15] ^ high_table[x >> 4], 32 bytes at a time with
// vpshufb.
//
// Checksums: XXH3-64 (stable output since xxHash 0.8.0) of blocks longer than
// 240 bytes, re-done here so it can be computed alongside the parity. XXH3
// keeps eight 64-bit accumulators and walks the input in 64-byte stripes:
//   acc[l ^ 1] += word[l];  acc[l] += lo32(word[l] ^ key[l]) * hi32(word[l] ^ key[l])
// with the key taken 8 bytes further into the 192-byte secret per stripe;
// after every 16 stripes the accumulators are scrambled; the final stripe
// (the last 64 bytes) uses the key at secret + 121 and is never followed by a
// scramble; the accumulators are then merged and avalanched. A seed only
// changes the secret (XXH3_generateSecret_fromSeed). Block sizes here are
// multiples of 64, so the final stripe is simply the last regular one.
#include "ec/fused_encode.h"

#define XXH_STATIC_LINKING_ONLY  // XXH3_SECRET_DEFAULT_SIZE, XXH3_generateSecret_fromSeed
#include <xxhash.h>

#include <algorithm>
#include <cassert>
#include <cstring>

#include "ec/codec.h"  // kMaxDataShards, kMaxParityShards

#if defined(__x86_64__)
#include <immintrin.h>
#define HF_HAVE_AVX2_KERNEL 1
#endif

namespace holdfast::ec::internal {

std::vector<NibbleTables> ExpandTables(const uint8_t* isal_tables, int count) {
  std::vector<NibbleTables> expanded(count);
  for (int c = 0; c < count; ++c) {
    const uint8_t* source = isal_tables + 32 * c;
    std::memcpy(expanded[c].low, source, 16);
    std::memcpy(expanded[c].low + 16, source, 16);
    std::memcpy(expanded[c].high, source + 16, 16);
    std::memcpy(expanded[c].high + 16, source + 16, 16);
  }
  return expanded;
}

#if HF_HAVE_AVX2_KERNEL
namespace {

constexpr size_t kStripeBytes = 64;
constexpr size_t kSecretBytes = XXH3_SECRET_DEFAULT_SIZE;  // 192
constexpr size_t kStripesPerScramble = (kSecretBytes - kStripeBytes) / 8;  // 16
constexpr size_t kLastStripeKeyOffset = kSecretBytes - kStripeBytes - 7;
constexpr size_t kScrambleKeyOffset = kSecretBytes - kStripeBytes;
constexpr size_t kMergeKeyOffset = 11;
// Parity rows per kernel pass: 2 x 4 accumulating registers, with the data,
// nibbles, tables and keys, fit AVX2's 16 registers.
constexpr int kMaxRowsPerPass = 4;

constexpr uint64_t kPrime32_1 = 0x9E3779B1U;
constexpr uint64_t kPrime32_2 = 0x85EBCA77U;
constexpr uint64_t kPrime32_3 = 0xC2B2AE3DU;
constexpr uint64_t kPrime64_1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kPrime64_2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kPrime64_3 = 0x165667B19E3779F9ULL;
constexpr uint64_t kPrime64_4 = 0x85EBCA77C2B2AE63ULL;
constexpr uint64_t kPrime64_5 = 0x27D4EB2F165667C5ULL;

// One block's eight XXH3 accumulators.
struct alignas(32) Accumulators {
  uint64_t lane[8];
};

uint64_t ReadLe64(const uint8_t* bytes) {
  uint64_t value;
  std::memcpy(&value, bytes, sizeof value);  // x86-64 is little-endian
  return value;
}

uint64_t MultiplyFold(uint64_t a, uint64_t b) {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

uint64_t MergeAccumulators(const Accumulators& acc, const uint8_t* secret, size_t length) {
  uint64_t result = length * kPrime64_1;
  const uint8_t* key = secret + kMergeKeyOffset;
  for (int pair = 0; pair < 4; ++pair) {
    result += MultiplyFold(acc.lane[2 * pair] ^ ReadLe64(key + 16 * pair),
                           acc.lane[2 * pair + 1] ^ ReadLe64(key + 16 * pair + 8));
  }
  result ^= result >> 37;
  result *= 0x165667919E3779F9ULL;
  result ^= result >> 32;
  return result;
}

#define HF_AVX2 __attribute__((target("avx2")))
#define HF_AVX2_INLINE __attribute__((target("avx2"), always_inline)) inline

// XXH3's accumulate step for four lanes (32 bytes of one stripe).
HF_AVX2_INLINE __m256i Accumulate(__m256i acc, __m256i words, __m256i key) {
  const __m256i keyed = _mm256_xor_si256(words, key);
  const __m256i product = _mm256_mul_epu32(keyed, _mm256_srli_epi64(keyed, 32));
  const __m256i swapped = _mm256_shuffle_epi32(words, _MM_SHUFFLE(1, 0, 3, 2));
  return _mm256_add_epi64(product, _mm256_add_epi64(acc, swapped));
}

HF_AVX2_INLINE __m256i Scramble(__m256i acc, __m256i key) {
  const __m256i prime = _mm256_set1_epi32(static_cast<int>(kPrime32_1));
  acc = _mm256_xor_si256(acc, _mm256_srli_epi64(acc, 47));
  acc = _mm256_xor_si256(acc, key);
  const __m256i low_product = _mm256_mul_epu32(acc, prime);
  const __m256i high_product = _mm256_mul_epu32(_mm256_srli_epi64(acc, 32), prime);
  return _mm256_add_epi64(low_product, _mm256_slli_epi64(high_product, 32));
}

HF_AVX2_INLINE void ScrambleBlock(Accumulators& block, __m256i key0, __m256i key1) {
  __m256i* acc = reinterpret_cast<__m256i*>(block.lane);
  acc[0] = Scramble(acc[0], key0);
  acc[1] = Scramble(acc[1], key1);
}

HF_AVX2_INLINE __m256i Load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// One pass over the stripe computing `Rows` parity rows. Data blocks are
// hashed only when `kHashData` (the first pass); each pass hashes its rows.
template <int Rows, bool kHashData>
HF_AVX2 void EncodePass(size_t length, int k, const NibbleTables* tables, const uint8_t* const* data,
                        uint8_t* const* parity, const uint8_t* secret, Accumulators* data_acc,
                        Accumulators* parity_acc) {
  const __m256i nibble_mask = _mm256_set1_epi8(0x0f);
  const size_t stripes = length / kStripeBytes;
  for (size_t s = 0; s < stripes; ++s) {
    const size_t offset = s * kStripeBytes;
    const bool last = s + 1 == stripes;
    const uint8_t* key = secret + (last ? kLastStripeKeyOffset : 8 * (s % kStripesPerScramble));
    const __m256i key0 = Load(key), key1 = Load(key + 32);
    __m256i low_half[Rows], high_half[Rows];  // the stripe's two 32-byte halves
#pragma GCC unroll 16
    for (int j = 0; j < Rows; ++j) low_half[j] = high_half[j] = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int i = 0; i < k; ++i) {
      const __m256i d0 = Load(data[i] + offset), d1 = Load(data[i] + offset + 32);
      if (kHashData) {
        __m256i* acc = reinterpret_cast<__m256i*>(data_acc[i].lane);
        acc[0] = Accumulate(acc[0], d0, key0);
        acc[1] = Accumulate(acc[1], d1, key1);
      }
      const __m256i lo0 = _mm256_and_si256(d0, nibble_mask);
      const __m256i hi0 = _mm256_and_si256(_mm256_srli_epi64(d0, 4), nibble_mask);
      const __m256i lo1 = _mm256_and_si256(d1, nibble_mask);
      const __m256i hi1 = _mm256_and_si256(_mm256_srli_epi64(d1, 4), nibble_mask);
#pragma GCC unroll 16
      for (int j = 0; j < Rows; ++j) {
        const NibbleTables& t = tables[size_t(j) * k + i];
        const __m256i low_table = _mm256_load_si256(reinterpret_cast<const __m256i*>(t.low));
        const __m256i high_table = _mm256_load_si256(reinterpret_cast<const __m256i*>(t.high));
        low_half[j] = _mm256_xor_si256(low_half[j], _mm256_xor_si256(_mm256_shuffle_epi8(low_table, lo0),
                                                                     _mm256_shuffle_epi8(high_table, hi0)));
        high_half[j] = _mm256_xor_si256(high_half[j], _mm256_xor_si256(_mm256_shuffle_epi8(low_table, lo1),
                                                                       _mm256_shuffle_epi8(high_table, hi1)));
      }
    }
#pragma GCC unroll 16
    for (int j = 0; j < Rows; ++j) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(parity[j] + offset), low_half[j]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(parity[j] + offset + 32), high_half[j]);
      __m256i* acc = reinterpret_cast<__m256i*>(parity_acc[j].lane);
      acc[0] = Accumulate(acc[0], low_half[j], key0);
      acc[1] = Accumulate(acc[1], high_half[j], key1);
    }
    if (!last && (s + 1) % kStripesPerScramble == 0) {
      const __m256i scramble0 = Load(secret + kScrambleKeyOffset);
      const __m256i scramble1 = Load(secret + kScrambleKeyOffset + 32);
      if (kHashData) {
        for (int i = 0; i < k; ++i) ScrambleBlock(data_acc[i], scramble0, scramble1);
      }
      for (int j = 0; j < Rows; ++j) ScrambleBlock(parity_acc[j], scramble0, scramble1);
    }
  }
}

template <bool kHashData>
void EncodePassOf(int rows, size_t length, int k, const NibbleTables* tables, const uint8_t* const* data,
                  uint8_t* const* parity, const uint8_t* secret, Accumulators* data_acc,
                  Accumulators* parity_acc) {
  switch (rows) {
    case 1: return EncodePass<1, kHashData>(length, k, tables, data, parity, secret, data_acc, parity_acc);
    case 2: return EncodePass<2, kHashData>(length, k, tables, data, parity, secret, data_acc, parity_acc);
    case 3: return EncodePass<3, kHashData>(length, k, tables, data, parity, secret, data_acc, parity_acc);
    default: return EncodePass<4, kHashData>(length, k, tables, data, parity, secret, data_acc, parity_acc);
  }
}

}  // namespace

bool CanFuse(size_t block_size_bytes) {
  static const bool has_avx2 = __builtin_cpu_supports("avx2");
  return has_avx2 && block_size_bytes >= 4 * kStripeBytes && block_size_bytes % kStripeBytes == 0;
}

void FusedEncodeAndChecksum(size_t block_size_bytes, int k, int m, const NibbleTables* tables,
                            const uint8_t* const* data, uint8_t* const* parity, uint64_t seed,
                            uint64_t* checksums) {
  assert(CanFuse(block_size_bytes) && k >= 1 && k <= kMaxDataShards && m >= 1 && m <= kMaxParityShards);
  alignas(64) uint8_t secret[kSecretBytes];
  XXH3_generateSecret_fromSeed(secret, seed);
  constexpr Accumulators kInitial{
      {kPrime32_3, kPrime64_1, kPrime64_2, kPrime64_3, kPrime64_4, kPrime32_2, kPrime64_5, kPrime32_1}};
  Accumulators acc[kMaxDataShards + kMaxParityShards];
  for (int b = 0; b < k + m; ++b) acc[b] = kInitial;

  // Rows in passes of at most four; the data is hashed during the first.
  for (int first_row = 0; first_row < m; first_row += kMaxRowsPerPass) {
    const int rows = std::min(kMaxRowsPerPass, m - first_row);
    const NibbleTables* pass_tables = tables + size_t(first_row) * k;
    if (first_row == 0) {
      EncodePassOf<true>(rows, block_size_bytes, k, pass_tables, data, parity, secret, acc, acc + k);
    } else {
      EncodePassOf<false>(rows, block_size_bytes, k, pass_tables, data, parity + first_row, secret, acc,
                          acc + k + first_row);
    }
  }
  for (int b = 0; b < k + m; ++b) checksums[b] = MergeAccumulators(acc[b], secret, block_size_bytes);
}

#else  // no AVX2 kernel on this architecture

bool CanFuse(size_t) { return false; }

void FusedEncodeAndChecksum(size_t, int, int, const NibbleTables*, const uint8_t* const*, uint8_t* const*,
                            uint64_t, uint64_t*) {
  assert(false && "FusedEncodeAndChecksum without CanFuse");
}

#endif

}  // namespace holdfast::ec::internal
