// ec/ internal: encoding a stripe and checksumming its blocks in one pass.
//
// A PUT encodes every stripe and then checksums all k+m blocks (XXH3-64, see
// Codec::EncodeAndChecksum). Done one after the other, the checksums cost
// about 60% of the encode again; both loops are bound by vector arithmetic,
// not memory, so cache-sized slicing does not help. Done in one loop, the
// hash's multiplies and adds fill execution slots the encode's byte shuffles
// leave idle, and every data and parity vector is hashed while it is still in
// a register: the pair costs ~1.25x the encode alone instead of ~1.6x.
//
// The kernel is AVX2 (x86-64, chosen at run time); codec.cpp falls back to
// encode-then-hash elsewhere and for block sizes the kernel does not take.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace holdfast::ec::internal {

// One coefficient's multiply-by-constant tables as the kernel wants them:
// ISA-L's 16-byte low- and high-nibble product tables (ec_init_tables), each
// repeated in both 128-bit lanes so they load without lane shuffles.
struct alignas(32) NibbleTables {
  uint8_t low[32];
  uint8_t high[32];
};

// `isal_tables` holds `count` coefficients of 32 bytes each (ec_init_tables).
std::vector<NibbleTables> ExpandTables(const uint8_t* isal_tables, int count);

// True when FusedEncodeAndChecksum can code blocks of this size on this CPU:
// AVX2 present, size a multiple of 64 and at least 256 (XXH3's long-input
// path, which the kernel reproduces).
bool CanFuse(size_t block_size_bytes);

// Writes the m parity blocks of a stripe (tables: m rows of k coefficients,
// row-major, from ExpandTables) and checksums[0, k+m) = XXH3-64 of each data
// then parity block, seeded with `seed`. Requires CanFuse(block_size_bytes),
// 1 <= k <= 32 and 1 <= m <= 16. Buffers may have any alignment.
void FusedEncodeAndChecksum(size_t block_size_bytes, int k, int m, const NibbleTables* tables,
                            const uint8_t* const* data, uint8_t* const* parity, uint64_t seed,
                            uint64_t* checksums);

}  // namespace holdfast::ec::internal
