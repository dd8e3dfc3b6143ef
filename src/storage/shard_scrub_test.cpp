// ShardStore::Scrub and quarantine: a scrub judges only the file it read,
// moves a failing one out of service, and the quarantined copy lives until
// the shard is whole here again or removed.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "storage/shard_format.h"
#include "storage/shard_store.h"

namespace holdfast::storage {
namespace {

namespace fs = std::filesystem;

std::string Id(int shard_index, std::string_view hex = "0123456789abcdef0123456789abcdef") {
  return std::string(hex) + "." + std::to_string(shard_index);
}

// Overwrites one byte in place (same inode, as bitrot would).
void FlipByte(const fs::path& path, uint64_t offset) {
  std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
  file.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  file.get(c);
  file.seekp(static_cast<std::streamoff>(offset));
  file.put(static_cast<char>(c ^ 0x5a));
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class ShardScrubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hf_scrub_test.XXXXXX";
    ASSERT_NE(nullptr, ::mkdtemp(pattern));
    root_ = pattern;
    auto store = ShardStore::Open(root_);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(root_);
  }

  void Put(const std::string& id, uint32_t block_size, uint64_t count, uint64_t seed = 1) {
    std::mt19937_64 rng(seed);
    auto writer = store_->Create(id, block_size);
    ASSERT_TRUE(writer.ok()) << writer.error().message;
    for (uint64_t i = 0; i < count; ++i) {
      std::string block(block_size, '\0');
      for (char& c : block) c = static_cast<char>(rng());
      ASSERT_TRUE((*writer)->AppendBlock(Bytes(block), BlockChecksum(Bytes(block), i)).ok());
    }
    ShardFooter footer;
    footer.bucket = "b";
    footer.key = "k";
    footer.version_id = id.substr(0, 32);
    footer.object_size_bytes = block_size * count;
    footer.data_shard_count = 2;
    footer.parity_shard_count = 1;
    footer.shard_index = format::ShardIndexOfId(id);
    footer.block_size_bytes = block_size;
    footer.block_count = count;
    Status committed = (*writer)->Commit(footer);
    ASSERT_TRUE(committed.ok()) << committed.error().message;
  }

  fs::path ShardPath(const std::string& id) const {
    return root_ / "shards" / id.substr(0, 2) / id;
  }
  fs::path QuarantinePath(const std::string& id) const { return root_ / "quarantine" / id; }

  ScrubOutcome Scrub(const std::string& id, const ScrubPacer& pace = [](uint64_t) { return true; }) {
    auto outcome = store_->Scrub(id, pace);
    EXPECT_TRUE(outcome.ok()) << outcome.error().message;
    return outcome.ok() ? *outcome : ScrubOutcome{};
  }

  fs::path root_;
  std::unique_ptr<ShardStore> store_;
};

TEST_F(ShardScrubTest, CleanShardIsVerifiedInFullAndPaced) {
  Put(Id(0), 1000, 5);
  uint64_t paced = 0;
  int calls = 0;
  ScrubOutcome outcome = Scrub(Id(0), [&](uint64_t bytes) {
    paced += bytes;
    ++calls;
    return true;
  });
  EXPECT_EQ(ScrubVerdict::kClean, outcome.verdict);
  EXPECT_EQ(5u * 1008u, outcome.bytes_read);
  EXPECT_EQ(outcome.bytes_read, paced);
  EXPECT_EQ(5, calls);
  EXPECT_TRUE(fs::exists(ShardPath(Id(0))));
  EXPECT_EQ(1u, store_->Usage().shard_count);
}

TEST_F(ShardScrubTest, FlippedBlockByteQuarantinesTheShard) {
  Put(Id(1), 1000, 4);
  Put(Id(2), 1000, 4);
  const uint64_t used_before = store_->Usage().used_bytes;
  const uint64_t file_bytes = fs::file_size(ShardPath(Id(1)));
  FlipByte(ShardPath(Id(1)), 3 * 1008 + 17);  // the last block's payload

  ScrubOutcome outcome = Scrub(Id(1));
  EXPECT_EQ(ScrubVerdict::kQuarantined, outcome.verdict);
  EXPECT_NE(std::string::npos, outcome.problem.find("block 3")) << outcome.problem;
  EXPECT_FALSE(fs::exists(ShardPath(Id(1))));
  EXPECT_TRUE(fs::exists(QuarantinePath(Id(1))));
  // Out of service: not served, listed or counted.
  auto reader = store_->OpenShard(Id(1));
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(Errc::kNotFound, reader.error().code);
  EXPECT_EQ(std::vector<std::string>{Id(2)}, *store_->List(""));
  EXPECT_EQ(1u, store_->Usage().shard_count);
  EXPECT_EQ(used_before - file_bytes, store_->Usage().used_bytes);
  // A second scrub finds nothing to judge.
  auto again = store_->Scrub(Id(1), [](uint64_t) { return true; });
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(Errc::kNotFound, again.error().code);
  EXPECT_EQ(ScrubVerdict::kClean, Scrub(Id(2)).verdict);
}

TEST_F(ShardScrubTest, DamagedFooterOrTailQuarantinesTheShard) {
  Put(Id(3), 100, 2);
  Put(Id(4), 100, 2);
  const uint64_t size = fs::file_size(ShardPath(Id(3)));
  FlipByte(ShardPath(Id(3)), 2 * 108 + 5);  // inside the footer JSON
  FlipByte(ShardPath(Id(4)), size - 3);     // the magic
  EXPECT_EQ(ScrubVerdict::kQuarantined, Scrub(Id(3)).verdict);
  EXPECT_EQ(ScrubVerdict::kQuarantined, Scrub(Id(4)).verdict);
  EXPECT_TRUE(store_->List("")->empty());
}

TEST_F(ShardScrubTest, TruncatedShardIsQuarantined) {
  Put(Id(5), 100, 3);
  fs::resize_file(ShardPath(Id(5)), 150);
  ScrubOutcome outcome = Scrub(Id(5));
  EXPECT_EQ(ScrubVerdict::kQuarantined, outcome.verdict);
  EXPECT_FALSE(outcome.problem.empty());
}

TEST_F(ShardScrubTest, ShardReplacedWhileReadIsNotJudged) {
  Put(Id(6), 1000, 4);
  FlipByte(ShardPath(Id(6)), 3 * 1008 + 1);
  // Repair rebuilds the shard under the same id while the scrub is between
  // blocks: the failing file is no longer the one in service.
  int calls = 0;
  ScrubOutcome outcome = Scrub(Id(6), [&](uint64_t) {
    if (++calls == 2) Put(Id(6), 1000, 4, 9);
    return true;
  });
  EXPECT_EQ(ScrubVerdict::kGone, outcome.verdict);
  EXPECT_TRUE(fs::exists(ShardPath(Id(6))));
  EXPECT_FALSE(fs::exists(QuarantinePath(Id(6))));
  EXPECT_EQ(ScrubVerdict::kClean, Scrub(Id(6)).verdict);
}

TEST_F(ShardScrubTest, ShardRemovedWhileReadIsNotJudged) {
  Put(Id(7), 1000, 4);
  FlipByte(ShardPath(Id(7)), 2 * 1008 + 1);
  ScrubOutcome outcome = Scrub(Id(7), [&](uint64_t) {
    if (fs::exists(ShardPath(Id(7)))) {
      EXPECT_TRUE(store_->Remove(Id(7)).ok());
    }
    return true;
  });
  EXPECT_EQ(ScrubVerdict::kGone, outcome.verdict);
  EXPECT_FALSE(fs::exists(QuarantinePath(Id(7))));
  EXPECT_EQ(0u, store_->Usage().shard_count);
}

TEST_F(ShardScrubTest, PacerCanStopAScrub) {
  Put(Id(8), 100, 10);
  int calls = 0;
  ScrubOutcome outcome = Scrub(Id(8), [&](uint64_t) { return ++calls < 3; });
  EXPECT_EQ(ScrubVerdict::kStopped, outcome.verdict);
  EXPECT_EQ(2u * 108u, outcome.bytes_read);
  EXPECT_TRUE(fs::exists(ShardPath(Id(8))));
}

TEST_F(ShardScrubTest, QuarantinedCopyGoesWhenTheShardIsCommittedAgain) {
  Put(Id(9), 100, 2);
  FlipByte(ShardPath(Id(9)), 1);
  ASSERT_EQ(ScrubVerdict::kQuarantined, Scrub(Id(9)).verdict);
  Put(Id(9), 100, 2, 3);  // repair rebuilt it here
  EXPECT_FALSE(fs::exists(QuarantinePath(Id(9))));
  EXPECT_TRUE(store_->ListQuarantined()->empty());
  EXPECT_EQ(1u, store_->Usage().shard_count);
  EXPECT_EQ(ScrubVerdict::kClean, Scrub(Id(9)).verdict);
}

TEST_F(ShardScrubTest, RemoveDeletesTheQuarantinedCopy) {
  Put(Id(10), 100, 2);
  FlipByte(ShardPath(Id(10)), 1);
  ASSERT_EQ(ScrubVerdict::kQuarantined, Scrub(Id(10)).verdict);
  // GC of a shard that was rebuilt on another node.
  EXPECT_TRUE(store_->Remove(Id(10)).ok());
  EXPECT_FALSE(fs::exists(QuarantinePath(Id(10))));
  Status again = store_->Remove(Id(10));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(Errc::kNotFound, again.error().code);
}

TEST_F(ShardScrubTest, ReopenKeepsQuarantineOutOfTheStore) {
  Put(Id(11), 100, 2);
  Put(Id(12), 100, 2);
  FlipByte(ShardPath(Id(11)), 1);
  ASSERT_EQ(ScrubVerdict::kQuarantined, Scrub(Id(11)).verdict);
  store_.reset();
  auto store = ShardStore::Open(root_);
  ASSERT_TRUE(store.ok());
  store_ = std::move(*store);
  EXPECT_EQ(1u, store_->Usage().shard_count);
  EXPECT_EQ(std::vector<std::string>{Id(12)}, *store_->List(""));
  EXPECT_TRUE(fs::exists(QuarantinePath(Id(11))));
  EXPECT_EQ(std::vector<std::string>{Id(11)}, *store_->ListQuarantined());
}

TEST_F(ShardScrubTest, ListByPrefixReadsOneDirectory) {
  Put(Id(0, "aa000000000000000000000000000000"), 10, 1);
  Put(Id(1, "aa000000000000000000000000000000"), 10, 1);
  Put(Id(0, "ab000000000000000000000000000000"), 10, 1);
  EXPECT_EQ(2u, store_->List("aa")->size());
  EXPECT_EQ(1u, store_->List("ab")->size());
  EXPECT_EQ(0u, store_->List("ac")->size());
  EXPECT_EQ(3u, store_->List("a")->size());
  EXPECT_EQ(3u, store_->List("")->size());
  EXPECT_EQ(1u, store_->List("aa000000000000000000000000000000.1")->size());
}

TEST_F(ShardScrubTest, InvalidAndAbsentIds) {
  auto invalid = store_->Scrub("../etc/passwd", [](uint64_t) { return true; });
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(Errc::kInvalidArgument, invalid.error().code);
  auto absent = store_->Scrub(Id(1), [](uint64_t) { return true; });
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(Errc::kNotFound, absent.error().code);
}

}  // namespace
}  // namespace holdfast::storage
