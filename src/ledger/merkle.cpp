#include "ledger/merkle.h"

#include <openssl/sha.h>

#include <bit>
#include <cassert>

#include "common/digest.h"

namespace holdfast::ledger {
namespace {

// The largest power of two strictly below n (n >= 2): RFC 9162's k.
uint64_t SplitPoint(uint64_t n) {
  assert(n >= 2);
  return uint64_t{1} << (63 - std::countl_zero(n - 1));
}

void InclusionRanges(uint64_t m, uint64_t begin, uint64_t end, std::vector<LeafRange>* out) {
  const uint64_t n = end - begin;
  if (n == 1) return;
  const uint64_t k = SplitPoint(n);
  if (m < k) {
    InclusionRanges(m, begin, begin + k, out);
    out->push_back({begin + k, end});
  } else {
    InclusionRanges(m - k, begin + k, end, out);
    out->push_back({begin, begin + k});
  }
}

// RFC 9162 2.1.4.1 SUBPROOF(m, D[begin:end], b).
void ConsistencyRanges(uint64_t m, uint64_t begin, uint64_t end, bool whole_first_tree,
                       std::vector<LeafRange>* out) {
  const uint64_t n = end - begin;
  if (m == n) {
    if (!whole_first_tree) out->push_back({begin, end});
    return;
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    ConsistencyRanges(m, begin, begin + k, whole_first_tree, out);
    out->push_back({begin + k, end});
  } else {
    ConsistencyRanges(m - k, begin + k, end, false, out);
    out->push_back({begin, begin + k});
  }
}

// SHA-256 of prefix || bytes || more. OpenSSL 3's low-level SHA256_*
// functions are deprecated but not removed, and they are the fast path: the
// EVP API, and SHA256() which OpenSSL 3 routes through it, fetch the
// algorithm on every call, which costs several times more than hashing the
// 65 bytes of a node (bench/ledger_bench: ~0.7 us against ~0.2 us).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
Hash PrefixedSha256(uint8_t prefix, std::span<const uint8_t> bytes, std::span<const uint8_t> more = {}) {
  SHA256_CTX ctx;
  Hash out;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, &prefix, 1);
  SHA256_Update(&ctx, bytes.data(), bytes.size());
  if (!more.empty()) SHA256_Update(&ctx, more.data(), more.size());
  SHA256_Final(out.data(), &ctx);
  return out;
}
#pragma GCC diagnostic pop

}  // namespace

Hash LeafHash(std::span<const uint8_t> entry_bytes) { return PrefixedSha256(0x00, entry_bytes); }

Hash NodeHash(const Hash& left, const Hash& right) { return PrefixedSha256(0x01, left, right); }

Hash EmptyTreeHash() {
  Hash out;
  SHA256(nullptr, 0, out.data());
  return out;
}

std::string ToHex(const Hash& hash) { return HexLower(hash); }

bool ParseHash(std::string_view hex, Hash* out) {
  std::string bytes;
  if (hex.size() != 64 || !ParseHex(hex, &bytes)) return false;
  std::copy(bytes.begin(), bytes.end(), out->begin());
  return true;
}

std::vector<SubtreeId> Decompose(LeafRange range) {
  assert(range.end > range.begin);
  std::vector<SubtreeId> out;
  const uint64_t size = range.end - range.begin;
  uint64_t position = range.begin;
  for (int level = 63; level >= 0; --level) {
    const uint64_t width = uint64_t{1} << level;
    if ((size & width) == 0) continue;
    assert(position % width == 0);  // the alignment the header promises
    out.push_back({level, position >> level});
    position += width;
  }
  return out;
}

Hash FoldSubtrees(std::span<const Hash> hashes) {
  assert(!hashes.empty());
  Hash acc = hashes.back();
  for (size_t i = hashes.size() - 1; i-- > 0;) acc = NodeHash(hashes[i], acc);
  return acc;
}

std::vector<LeafRange> InclusionProofRanges(uint64_t index, uint64_t tree_size) {
  assert(index < tree_size);
  std::vector<LeafRange> out;
  InclusionRanges(index, 0, tree_size, &out);
  return out;
}

std::vector<LeafRange> ConsistencyProofRanges(uint64_t first, uint64_t second) {
  assert(first <= second);
  std::vector<LeafRange> out;
  if (first == 0 || first == second) return out;
  ConsistencyRanges(first, 0, second, true, &out);
  return out;
}

Result<std::vector<Hash>> ResolveRanges(const std::vector<LeafRange>& ranges,
                                        const SubtreeFetcher& fetch) {
  std::vector<SubtreeId> ids;
  std::vector<size_t> counts;
  for (const LeafRange& range : ranges) {
    std::vector<SubtreeId> parts = Decompose(range);
    counts.push_back(parts.size());
    ids.insert(ids.end(), parts.begin(), parts.end());
  }
  Result<std::vector<Hash>> fetched = fetch(ids);
  if (!fetched) return fetched.error();
  if (fetched->size() != ids.size()) {
    return MakeError(Errc::kInternal, "ledger: subtree fetch returned " + std::to_string(fetched->size()) +
                                          " hashes for " + std::to_string(ids.size()) + " subtrees");
  }
  std::vector<Hash> out;
  size_t offset = 0;
  for (size_t count : counts) {
    out.push_back(FoldSubtrees(std::span<const Hash>(fetched->data() + offset, count)));
    offset += count;
  }
  return out;
}

bool VerifyInclusion(uint64_t index, uint64_t tree_size, const Hash& leaf_hash,
                     std::span<const Hash> proof, const Hash& root) {
  if (index >= tree_size) return false;
  uint64_t fn = index;
  uint64_t sn = tree_size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyConsistency(uint64_t first, uint64_t second, const Hash& first_root,
                       const Hash& second_root, std::span<const Hash> proof) {
  if (first > second) return false;
  if (first == second) return proof.empty() && first_root == second_root;
  if (first == 0) return proof.empty();
  if (proof.empty()) return false;
  // A first tree that is a complete subtree is its own first proof node.
  std::vector<Hash> path;
  if (IsPowerOfTwo(first)) path.push_back(first_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = first - 1;
  uint64_t sn = second - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == first_root && sr == second_root && sn == 0;
}

// --- MemoryTree ---------------------------------------------------------------

void MemoryTree::Append(const Hash& leaf_hash) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(leaf_hash);
  // Every right child completes its parent.
  uint64_t index = levels_[0].size() - 1;
  for (size_t level = 0; (index & 1) != 0; ++level, index >>= 1) {
    if (levels_.size() == level + 1) levels_.emplace_back();
    levels_[level + 1].push_back(NodeHash(levels_[level][index - 1], levels_[level][index]));
  }
}

Result<std::vector<Hash>> MemoryTree::Subtrees(const std::vector<SubtreeId>& ids) const {
  std::vector<Hash> out;
  out.reserve(ids.size());
  for (const SubtreeId& id : ids) {
    if (static_cast<size_t>(id.level) >= levels_.size() || id.index >= levels_[id.level].size()) {
      return MakeError(Errc::kNotFound, "ledger: no complete subtree at level " + std::to_string(id.level) +
                                            " index " + std::to_string(id.index));
    }
    out.push_back(levels_[id.level][id.index]);
  }
  return out;
}

Result<Hash> MemoryTree::Root(uint64_t tree_size) const {
  if (tree_size > size()) {
    return MakeError(Errc::kInvalidArgument, "tree size " + std::to_string(tree_size) +
                                                 " exceeds the log's " + std::to_string(size()) + " entries");
  }
  if (tree_size == 0) return EmptyTreeHash();
  auto hashes = ResolveRanges({{0, tree_size}}, [this](const auto& ids) { return Subtrees(ids); });
  if (!hashes) return hashes.error();
  return (*hashes)[0];
}

Result<std::vector<Hash>> MemoryTree::InclusionProof(uint64_t index, uint64_t tree_size) const {
  if (tree_size > size() || index >= tree_size) {
    return MakeError(Errc::kInvalidArgument, "no entry " + std::to_string(index) + " in a tree of " +
                                                 std::to_string(tree_size) + " of the log's " +
                                                 std::to_string(size()) + " entries");
  }
  return ResolveRanges(InclusionProofRanges(index, tree_size),
                       [this](const auto& ids) { return Subtrees(ids); });
}

Result<std::vector<Hash>> MemoryTree::ConsistencyProof(uint64_t first, uint64_t second) const {
  if (first > second || second > size()) {
    return MakeError(Errc::kInvalidArgument, "no consistency proof from size " + std::to_string(first) +
                                                 " to " + std::to_string(second) + " in a log of " +
                                                 std::to_string(size()) + " entries");
  }
  return ResolveRanges(ConsistencyProofRanges(first, second),
                       [this](const auto& ids) { return Subtrees(ids); });
}

}  // namespace holdfast::ledger
