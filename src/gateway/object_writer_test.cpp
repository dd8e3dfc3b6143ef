#include "gateway/object_writer.h"

#include <gtest/gtest.h>

namespace holdfast::gateway {
namespace {

std::vector<placement::NodeInfo> ThreeByThree() {
  std::vector<placement::NodeInfo> nodes;
  for (const char* provider : {"a", "b", "c"}) {
    for (int i = 0; i < 3; ++i) {
      nodes.push_back({std::string(provider) + std::to_string(i), provider, "s", 1.0, true});
    }
  }
  return nodes;
}

constexpr uint32_t kMiB = 1 << 20;

TEST(ChooseLayoutTest, TinyObjectsAreCopiesLargeOnesAreWideCodes) {
  auto nodes = ThreeByThree();
  placement::DurabilityPolicy policy{1, 1};
  for (uint64_t size : {0ull, 1ull, 4096ull, 10000ull}) {
    auto layout = ChooseLayout(nodes, policy, size, kMiB);
    ASSERT_TRUE(layout.ok());
    EXPECT_EQ(layout->data_shard_count, 1) << size;
    EXPECT_EQ(layout->total(), 3) << size;
  }
  for (uint64_t size : {64ull << 10, 1ull << 20, 100ull << 20}) {
    auto layout = ChooseLayout(nodes, policy, size, kMiB);
    ASSERT_TRUE(layout.ok());
    EXPECT_EQ(layout->data_shard_count, 5) << size;
    EXPECT_EQ(layout->parity_shard_count, 4) << size;
  }
}

TEST(ChooseLayoutTest, TheChoiceNeverTakesMoreDiskThanTheWideCode) {
  auto nodes = ThreeByThree();
  placement::DurabilityPolicy policy{1, 1};
  auto wide = placement::DeriveLayout(nodes, policy);
  ASSERT_TRUE(wide.ok());
  for (uint64_t size = 0; size < (256u << 10); size += 997) {
    auto chosen = ChooseLayout(nodes, policy, size, kMiB);
    ASSERT_TRUE(chosen.ok());
    EXPECT_LE(EstimatedDiskBytes(size, *chosen, kMiB), EstimatedDiskBytes(size, *wide, kMiB)) << size;
  }
}

TEST(ChooseBlockSizeTest, BlocksHoldAShareRoundedTo64AndCapped) {
  EXPECT_EQ(ChooseBlockSize(0, 5, kMiB), 64u);
  EXPECT_EQ(ChooseBlockSize(4096, 5, kMiB), 832u);
  EXPECT_EQ(ChooseBlockSize(100ull << 20, 5, kMiB), kMiB);
}

TEST(WriteQuorumTest, OneShardBeyondKWhenThereIsParity) {
  EXPECT_EQ(WriteQuorum(placement::Layout{5, 4, 3}), 6);
  EXPECT_EQ(WriteQuorum(placement::Layout{1, 2, 1}), 2);
  EXPECT_EQ(WriteQuorum(placement::Layout{1, 0, 1}), 1);
}

}  // namespace
}  // namespace holdfast::gateway
