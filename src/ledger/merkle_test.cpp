#include "ledger/merkle.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/digest.h"

namespace holdfast::ledger {
namespace {

Hash H(const std::string& hex) {
  Hash out{};
  EXPECT_TRUE(ParseHash(hex, &out)) << hex;
  return out;
}

std::string Bytes(const std::string& hex) {
  std::string out;
  EXPECT_TRUE(ParseHex(hex, &out)) << hex;
  return out;
}

// The eight test leaves and roots of Certificate Transparency's reference
// implementation (RFC 6962 test data), used by every CT library.
std::vector<Hash> CtLeaves() {
  std::vector<Hash> leaves;
  for (const char* hex : {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                          "606162636465666768696a6b6c6d6e6f"}) {
    leaves.push_back(LeafHash(Bytes(hex)));
  }
  return leaves;
}

const char* kCtRoots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

MemoryTree TreeOf(const std::vector<Hash>& leaves) {
  MemoryTree tree;
  for (const Hash& leaf : leaves) tree.Append(leaf);
  return tree;
}

// --- A reference straight from the RFC's recursive definitions ---------------

Hash RefMth(const std::vector<Hash>& d, size_t begin, size_t end) {
  const size_t n = end - begin;
  if (n == 0) return EmptyTreeHash();
  if (n == 1) return d[begin];
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return NodeHash(RefMth(d, begin, begin + k), RefMth(d, begin + k, end));
}

void RefPath(size_t m, const std::vector<Hash>& d, size_t begin, size_t end, std::vector<Hash>* out) {
  const size_t n = end - begin;
  if (n <= 1) return;
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  if (m < k) {
    RefPath(m, d, begin, begin + k, out);
    out->push_back(RefMth(d, begin + k, end));
  } else {
    RefPath(m - k, d, begin + k, end, out);
    out->push_back(RefMth(d, begin, begin + k));
  }
}

void RefSubproof(size_t m, const std::vector<Hash>& d, size_t begin, size_t end, bool b,
                 std::vector<Hash>* out) {
  const size_t n = end - begin;
  if (m == n) {
    if (!b) out->push_back(RefMth(d, begin, end));
    return;
  }
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  if (m <= k) {
    RefSubproof(m, d, begin, begin + k, b, out);
    out->push_back(RefMth(d, begin + k, end));
  } else {
    RefSubproof(m - k, d, begin + k, end, false, out);
    out->push_back(RefMth(d, begin, begin + k));
  }
}

TEST(Merkle, HashesAreDomainSeparated) {
  EXPECT_EQ(ToHex(EmptyTreeHash()), kCtRoots[0]);
  EXPECT_EQ(ToHex(LeafHash(std::string())), kCtRoots[1]);  // SHA-256(0x00)
  const Hash a = LeafHash(std::string("a"));
  const Hash b = LeafHash(std::string("b"));
  // node(a, b) = SHA-256(0x01 || a || b), never SHA-256(a || b).
  std::string input = "\x01";
  input.append(reinterpret_cast<const char*>(a.data()), 32);
  input.append(reinterpret_cast<const char*>(b.data()), 32);
  EXPECT_EQ(NodeHash(a, b), Sha256(AsBytes(input)));
  EXPECT_NE(NodeHash(a, b), NodeHash(b, a));
}

TEST(Merkle, RootsMatchTheRfc6962ReferenceVectors) {
  const std::vector<Hash> leaves = CtLeaves();
  MemoryTree tree;
  ASSERT_EQ(ToHex(*tree.Root(0)), kCtRoots[0]);
  for (size_t n = 1; n <= leaves.size(); ++n) {
    tree.Append(leaves[n - 1]);
    EXPECT_EQ(ToHex(*tree.Root(n)), kCtRoots[n]) << "size " << n;
    EXPECT_EQ(ToHex(RefMth(leaves, 0, n)), kCtRoots[n]) << "reference, size " << n;
  }
  EXPECT_FALSE(tree.Root(9).ok());
}

TEST(Merkle, InclusionProofsMatchTheReferenceVectors) {
  const MemoryTree tree = TreeOf(CtLeaves());
  struct Vector {
    uint64_t index, size;
    std::vector<const char*> proof;
  };
  const Vector vectors[] = {
      {0, 8, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {5, 8, {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
              "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
      {1, 5, {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  for (const Vector& v : vectors) {
    auto proof = tree.InclusionProof(v.index, v.size);
    ASSERT_TRUE(proof.ok());
    ASSERT_EQ(proof->size(), v.proof.size());
    for (size_t i = 0; i < v.proof.size(); ++i) EXPECT_EQ(ToHex((*proof)[i]), v.proof[i]);
    EXPECT_TRUE(VerifyInclusion(v.index, v.size, CtLeaves()[v.index], *proof, H(kCtRoots[v.size])));
  }
}

TEST(Merkle, ConsistencyProofsMatchTheReferenceVectors) {
  const MemoryTree tree = TreeOf(CtLeaves());
  struct Vector {
    uint64_t first, second;
    std::vector<const char*> proof;
  };
  const Vector vectors[] = {
      {1, 1, {}},
      {1, 8, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6, 8, {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
              "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 5, {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  for (const Vector& v : vectors) {
    auto proof = tree.ConsistencyProof(v.first, v.second);
    ASSERT_TRUE(proof.ok());
    ASSERT_EQ(proof->size(), v.proof.size());
    for (size_t i = 0; i < v.proof.size(); ++i) EXPECT_EQ(ToHex((*proof)[i]), v.proof[i]);
    EXPECT_TRUE(VerifyConsistency(v.first, v.second, H(kCtRoots[v.first]), H(kCtRoots[v.second]), *proof));
  }
}

TEST(Merkle, DecomposeCoversAlignedRangesWithCompleteSubtrees) {
  EXPECT_EQ(Decompose({0, 1}), (std::vector<SubtreeId>{{0, 0}}));
  EXPECT_EQ(Decompose({0, 7}), (std::vector<SubtreeId>{{2, 0}, {1, 2}, {0, 6}}));
  EXPECT_EQ(Decompose({8, 13}), (std::vector<SubtreeId>{{2, 2}, {0, 12}}));
  EXPECT_EQ(Decompose({64, 128}), (std::vector<SubtreeId>{{6, 1}}));
}

// Every proof of every (index, size) and (first, second) pair up to 70
// leaves: equal to the RFC's recursive definition, accepted by the
// verifier, and rejected once anything about it is wrong.
TEST(Merkle, BruteForceEveryProofUpTo70Leaves) {
  constexpr size_t kMax = 70;
  std::vector<Hash> leaves;
  for (size_t i = 0; i < kMax; ++i) leaves.push_back(LeafHash("entry " + std::to_string(i)));
  const MemoryTree tree = TreeOf(leaves);
  std::vector<Hash> roots;
  for (size_t n = 0; n <= kMax; ++n) {
    roots.push_back(RefMth(leaves, 0, n));
    ASSERT_EQ(*tree.Root(n), roots[n]) << "size " << n;
  }
  for (size_t size = 1; size <= kMax; ++size) {
    for (size_t index = 0; index < size; ++index) {
      std::vector<Hash> expected;
      RefPath(index, leaves, 0, size, &expected);
      auto proof = tree.InclusionProof(index, size);
      ASSERT_TRUE(proof.ok());
      ASSERT_EQ(*proof, expected) << index << " in " << size;
      ASSERT_TRUE(VerifyInclusion(index, size, leaves[index], *proof, roots[size])) << index << "/" << size;
      // Wrong leaf, wrong index, wrong root, changed, shortened
      // or lengthened proof: all refused.
      EXPECT_FALSE(VerifyInclusion(index, size, leaves[(index + 1) % kMax], *proof, roots[size]));
      if (size > 1) {
        EXPECT_FALSE(VerifyInclusion((index + 1) % size, size, leaves[index], *proof, roots[size]));
      }
      // (The size alone is not bound by the proof -- the signed tree head
      // binds it to the root -- but a proof never fits another tree's root.)
      if (size < kMax) EXPECT_FALSE(VerifyInclusion(index, size + 1, leaves[index], *proof, roots[size + 1]));
      EXPECT_FALSE(VerifyInclusion(index, size, leaves[index], *proof, roots[size - 1]));
      if (!proof->empty()) {
        std::vector<Hash> bad = *proof;
        bad.back()[0] ^= 1;
        EXPECT_FALSE(VerifyInclusion(index, size, leaves[index], bad, roots[size]));
        bad = *proof;
        bad.pop_back();
        EXPECT_FALSE(VerifyInclusion(index, size, leaves[index], bad, roots[size]));
      }
      std::vector<Hash> longer = *proof;
      longer.push_back(leaves[0]);
      EXPECT_FALSE(VerifyInclusion(index, size, leaves[index], longer, roots[size]));
    }
  }
  for (size_t second = 1; second <= kMax; ++second) {
    for (size_t first = 0; first <= second; ++first) {
      std::vector<Hash> expected;
      if (first > 0 && first < second) RefSubproof(first, leaves, 0, second, true, &expected);
      auto proof = tree.ConsistencyProof(first, second);
      ASSERT_TRUE(proof.ok());
      ASSERT_EQ(*proof, expected) << first << " -> " << second;
      ASSERT_TRUE(VerifyConsistency(first, second, roots[first], roots[second], *proof))
          << first << " -> " << second;
      if (first == 0) continue;  // every tree extends the empty one
      Hash other_first = roots[first];
      other_first[5] ^= 0x80;
      EXPECT_FALSE(VerifyConsistency(first, second, other_first, roots[second], *proof));
      Hash other_second = roots[second];
      other_second[5] ^= 0x80;
      EXPECT_FALSE(VerifyConsistency(first, second, roots[first], other_second, *proof));
      if (first < second) {
        if (second < kMax) {
          EXPECT_FALSE(VerifyConsistency(first, second + 1, roots[first], roots[second + 1], *proof));
        }
        std::vector<Hash> bad = *proof;
        bad[0][31] ^= 1;
        EXPECT_FALSE(VerifyConsistency(first, second, roots[first], roots[second], bad));
        bad = *proof;
        bad.pop_back();
        EXPECT_FALSE(VerifyConsistency(first, second, roots[first], roots[second], bad));
      }
    }
  }
  EXPECT_FALSE(VerifyConsistency(3, 2, roots[3], roots[2], {}));
}

}  // namespace
}  // namespace holdfast::ledger
