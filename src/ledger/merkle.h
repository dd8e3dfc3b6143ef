// The ledger's Merkle tree, as RFC 9162 (Certificate Transparency 2.0,
// section 2.1) defines it: pure functions over hashes, no storage.
//
//   leaf hash   = SHA-256(0x00 || entry bytes)
//   node hash   = SHA-256(0x01 || left || right)
//   MTH({})     = SHA-256("")
//   MTH(D[n])   = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n
//
// Storage keeps only *complete* subtrees (aligned, power-of-two sized), named
// by SubtreeId. Every range a proof or a root needs -- D[0:n] and every
// D[a:b] the RFC's recursion visits -- starts at a multiple of a power of two
// at least as large as the range, so it is the right fold of at most
// log2(n)+1 complete subtrees (Decompose). Proof generation therefore works
// in two steps: plan which complete subtrees are needed (pure), fetch them
// (one read, O(log n) rows), combine (pure). A proof never walks the leaves.
//
// Proof element order and the verification algorithms are exactly RFC
// 9162's (2.1.3.1/2.1.3.2 inclusion, 2.1.4.1/2.1.4.2 consistency), so any
// RFC 9162 verifier checks our proofs. docs/ledger.md restates them.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace holdfast::ledger {

using Hash = std::array<uint8_t, 32>;

Hash LeafHash(std::span<const uint8_t> entry_bytes);
inline Hash LeafHash(std::string_view entry_bytes) {
  return LeafHash({reinterpret_cast<const uint8_t*>(entry_bytes.data()), entry_bytes.size()});
}
Hash NodeHash(const Hash& left, const Hash& right);
Hash EmptyTreeHash();  // SHA-256 of the empty string

std::string ToHex(const Hash& hash);
// Exactly 64 hex digits (either case); false otherwise.
bool ParseHash(std::string_view hex, Hash* out);

// The complete subtree of leaves [index << level, (index + 1) << level).
// Level 0 is a leaf.
struct SubtreeId {
  int level = 0;
  uint64_t index = 0;
  bool operator==(const SubtreeId&) const = default;
};

// A range of leaves [begin, end) whose MTH a proof or a root needs.
struct LeafRange {
  uint64_t begin = 0;
  uint64_t end = 0;
  bool operator==(const LeafRange&) const = default;
};

// The complete subtrees whose right fold is MTH(D[begin:end]), largest
// (leftmost) first. Requires begin to be a multiple of the largest power of
// two <= end - begin (true of every range below); end > begin.
std::vector<SubtreeId> Decompose(LeafRange range);
// Right fold of the hashes of Decompose()'s subtrees:
// h0 if alone, else node(h0, node(h1, ... node(h(n-2), h(n-1)))).
Hash FoldSubtrees(std::span<const Hash> hashes);

// The ranges whose MTHs make up the inclusion proof of leaf `index` in the
// tree of `tree_size` leaves, in RFC 9162 order (from the leaf upwards).
// Requires index < tree_size.
std::vector<LeafRange> InclusionProofRanges(uint64_t index, uint64_t tree_size);
// The same for the consistency proof between tree sizes `first` and
// `second`; empty if first == 0 or first == second. Requires first <= second.
std::vector<LeafRange> ConsistencyProofRanges(uint64_t first, uint64_t second);

// Resolves ranges to hashes through `fetch`, which returns the hashes of
// the given complete subtrees in order (all at once, so a store answers in
// one transaction). Errors from `fetch` pass through.
using SubtreeFetcher = std::function<Result<std::vector<Hash>>(const std::vector<SubtreeId>&)>;
Result<std::vector<Hash>> ResolveRanges(const std::vector<LeafRange>& ranges,
                                        const SubtreeFetcher& fetch);

// RFC 9162 2.1.3.2. True iff `proof` shows `leaf_hash` at `index` in the
// tree of `tree_size` leaves with root `root`.
bool VerifyInclusion(uint64_t index, uint64_t tree_size, const Hash& leaf_hash,
                     std::span<const Hash> proof, const Hash& root);
// RFC 9162 2.1.4.2, extended to the trivial cases: first == second needs an
// empty proof and equal roots; first == 0 needs an empty proof (the empty
// tree is a prefix of every tree). False if first > second.
bool VerifyConsistency(uint64_t first, uint64_t second, const Hash& first_root,
                       const Hash& second_root, std::span<const Hash> proof);

// A whole tree in memory, for verifiers and tests: leaf hashes plus every
// complete subtree, so roots and proofs cost O(log n) after O(n) building.
// Not thread-safe for concurrent Append.
class MemoryTree {
 public:
  void Append(const Hash& leaf_hash);
  uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  // kInvalidArgument if the tree is too small.
  Result<Hash> Root(uint64_t tree_size) const;
  Result<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t tree_size) const;
  Result<std::vector<Hash>> ConsistencyProof(uint64_t first, uint64_t second) const;
  Result<std::vector<Hash>> Subtrees(const std::vector<SubtreeId>& ids) const;

 private:
  std::vector<std::vector<Hash>> levels_;  // levels_[l][i]: SubtreeId{l, i}
};

// Whether `x` is a power of two (x > 0).
inline bool IsPowerOfTwo(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

}  // namespace holdfast::ledger
