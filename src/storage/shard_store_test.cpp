#include "storage/shard_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "storage/shard_format.h"
#include "storage/shard_store_testing.h"

namespace holdfast::storage {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kHex = "0123456789abcdef0123456789abcdef";

std::string Id(int shard_index, std::string_view hex = kHex) {
  return std::string(hex) + "." + std::to_string(shard_index);
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A fresh directory under /tmp per test, removed afterwards. The store lives
// in root/data so tests can check nothing escapes into root.
class ShardStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hf_storage_test.XXXXXX";
    ASSERT_NE(nullptr, ::mkdtemp(pattern));
    root_ = pattern;
    data_dir_ = root_ / "data";
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(root_);
  }

  void Reopen() {
    store_.reset();
    auto store = ShardStore::Open(data_dir_);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
  }

  fs::path ShardPath(const std::string& id) const {
    return data_dir_ / "shards" / id.substr(0, 2) / id;
  }

  static ShardFooter Footer(int shard_index, uint32_t block_size, uint64_t blocks) {
    ShardFooter footer;
    footer.bucket = "photos";
    footer.key = "2024/cat \"one\".jpg";
    footer.version_id = "v1";
    footer.object_size_bytes = 4 * block_size * blocks - 17;
    footer.etag = "9e107d9d372bb6826bd81d3542a419d6";
    footer.data_shard_count = 4;
    footer.parity_shard_count = 2;
    footer.shard_index = shard_index;
    footer.block_size_bytes = block_size;
    footer.block_count = blocks;
    footer.created_unix_ms = 1700000000123;
    return footer;
  }

  static std::vector<std::string> Blocks(uint32_t block_size, uint64_t count, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::string> blocks(count, std::string(block_size, '\0'));
    for (auto& block : blocks) {
      for (char& c : block) c = static_cast<char>(rng());
    }
    return blocks;
  }

  static std::span<const uint8_t> Bytes(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
  }

  // Writes and commits a shard; returns its blocks.
  std::vector<std::string> Put(const std::string& id, uint32_t block_size, uint64_t count,
                               uint64_t seed = 1) {
    std::vector<std::string> blocks = Blocks(block_size, count, seed);
    auto writer = store_->Create(id, block_size);
    EXPECT_TRUE(writer.ok()) << writer.error().message;
    if (!writer.ok()) return {};
    for (uint64_t i = 0; i < count; ++i) {
      Status appended =
          (*writer)->AppendBlock(Bytes(blocks[i]), BlockChecksum(Bytes(blocks[i]), i));
      EXPECT_TRUE(appended.ok()) << appended.error().message;
    }
    Status committed = (*writer)->Commit(Footer(format::ShardIndexOfId(id), block_size, count));
    EXPECT_TRUE(committed.ok()) << committed.error().message;
    return blocks;
  }

  Result<std::unique_ptr<ShardReader>> OpenShard(const std::string& id) {
    return store_->OpenShard(id);
  }

  void ExpectShard(const std::string& id, const std::vector<std::string>& blocks) {
    auto reader = OpenShard(id);
    ASSERT_TRUE(reader.ok()) << reader.error().message;
    ASSERT_EQ(blocks.size(), (*reader)->footer().block_count);
    for (uint64_t i = 0; i < blocks.size(); ++i) {
      std::string out(blocks[i].size(), '\0');
      auto checksum = (*reader)->ReadBlock(i, {reinterpret_cast<uint8_t*>(out.data()), out.size()});
      ASSERT_TRUE(checksum.ok()) << checksum.error().message;
      EXPECT_EQ(BlockChecksum(Bytes(blocks[i]), i), *checksum);
      EXPECT_TRUE(out == blocks[i]) << "block " << i;
    }
  }

  Errc OpenError(const std::string& id) {
    auto reader = OpenShard(id);
    return reader.ok() ? Errc::kInternal : reader.error().code;
  }

  fs::path root_;
  fs::path data_dir_;
  std::unique_ptr<ShardStore> store_;
};

TEST_F(ShardStoreTest, RoundTripsSeveralShards) {
  // 1 KiB blocks take the buffered path, 100 KiB the direct writev path.
  auto small = Put(Id(0), 1024, 700, 1);
  auto large = Put(Id(1), 100 << 10, 5, 2);
  auto one = Put(Id(47), 4096, 1, 3);
  auto empty = Put(Id(5), 4096, 0, 4);
  ExpectShard(Id(0), small);
  ExpectShard(Id(1), large);
  ExpectShard(Id(47), one);
  ExpectShard(Id(5), empty);

  auto reader = OpenShard(Id(1));
  ASSERT_TRUE(reader.ok());
  const ShardFooter& footer = (*reader)->footer();
  ShardFooter want = Footer(1, 100 << 10, 5);
  EXPECT_EQ(want.bucket, footer.bucket);
  EXPECT_EQ(want.key, footer.key);
  EXPECT_EQ(want.version_id, footer.version_id);
  EXPECT_EQ(want.object_size_bytes, footer.object_size_bytes);
  EXPECT_EQ(want.etag, footer.etag);
  EXPECT_EQ(4, footer.data_shard_count);
  EXPECT_EQ(2, footer.parity_shard_count);
  EXPECT_EQ(1, footer.shard_index);
  EXPECT_EQ(want.created_unix_ms, footer.created_unix_ms);

  std::string out(100 << 10, '\0');
  std::span<uint8_t> buffer(reinterpret_cast<uint8_t*>(out.data()), out.size());
  EXPECT_EQ(Errc::kInvalidArgument, (*reader)->ReadBlock(5, buffer).error().code);
  EXPECT_EQ(Errc::kInvalidArgument, (*reader)->ReadBlock(0, buffer.first(10)).error().code);

  auto ids = store_->List("");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ((std::vector<std::string>{Id(0), Id(1), Id(47), Id(5)}), *ids);
  // Exact file size: blocks, checksums, footer, tail.
  EXPECT_EQ(5 * ((100 << 10) + 8) + format::EncodeStoredFooter(want, Id(1)).size() + 20,
            fs::file_size(ShardPath(Id(1))));
}

TEST_F(ShardStoreTest, AppendRejectsDamagedBlocks) {
  auto blocks = Blocks(1024, 2, 9);
  auto writer = store_->Create(Id(2), 1024);
  ASSERT_TRUE(writer.ok());
  uint64_t good0 = BlockChecksum(Bytes(blocks[0]), 0);
  Status bad = (*writer)->AppendBlock(Bytes(blocks[0]), good0 ^ 1);
  EXPECT_EQ(Errc::kCorrupt, bad.error().code);
  EXPECT_EQ(0u, (*writer)->blocks_written());
  ASSERT_TRUE((*writer)->AppendBlock(Bytes(blocks[0]), good0).ok());
  // The right checksum for the wrong position (seed = block index).
  EXPECT_EQ(
      Errc::kCorrupt,
      (*writer)->AppendBlock(Bytes(blocks[1]), BlockChecksum(Bytes(blocks[1]), 0)).error().code);
  std::string short_block(1000, 'x');
  EXPECT_EQ(Errc::kInvalidArgument,
            (*writer)
                ->AppendBlock(Bytes(short_block), BlockChecksum(Bytes(short_block), 1))
                .error()
                .code);
  ASSERT_TRUE((*writer)->AppendBlock(Bytes(blocks[1]), BlockChecksum(Bytes(blocks[1]), 1)).ok());
  EXPECT_EQ(2u, (*writer)->blocks_written());

  EXPECT_EQ(Errc::kInvalidArgument, (*writer)->Commit(Footer(2, 1024, 3)).error().code);
  EXPECT_EQ(Errc::kInvalidArgument, (*writer)->Commit(Footer(2, 2048, 2)).error().code);
  EXPECT_EQ(Errc::kInvalidArgument, (*writer)->Commit(Footer(3, 1024, 2)).error().code);
  ASSERT_TRUE((*writer)->Commit(Footer(2, 1024, 2)).ok());
  EXPECT_FALSE((*writer)->Commit(Footer(2, 1024, 2)).ok());  // only once
  ExpectShard(Id(2), blocks);
}

TEST_F(ShardStoreTest, CreateRejectsBadBlockSizes) {
  EXPECT_EQ(Errc::kInvalidArgument, store_->Create(Id(0), 0).error().code);
  EXPECT_EQ(Errc::kInvalidArgument, store_->Create(Id(0), (16u << 20) + 1).error().code);
  EXPECT_TRUE(store_->Create(Id(0), 16u << 20).ok());
}

TEST_F(ShardStoreTest, ReopenCleansTempFilesAndCountsShards) {
  auto a = Put(Id(0), 1024, 3, 1);
  auto b = Put(Id(1, "ffffffffffffffffffffffffffffffff"), 2048, 2, 2);
  // A write in progress when the node "crashes", and debris from an older one.
  auto writer = store_->Create(Id(3), 1024);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->AppendBlock(Bytes(a[0]), BlockChecksum(Bytes(a[0]), 0)).ok());
  WriteAll(data_dir_ / "tmp" / "left-over.tmp", "junk");
  EXPECT_EQ(2, std::distance(fs::directory_iterator(data_dir_ / "tmp"), {}));

  uint64_t expected_bytes = fs::file_size(ShardPath(Id(0))) +
                            fs::file_size(ShardPath(Id(1, "ffffffffffffffffffffffffffffffff")));
  // Reopen with the writer still alive, as after a crash: its temp file is
  // still there when the new store starts.
  Reopen();
  EXPECT_EQ(0, std::distance(fs::directory_iterator(data_dir_ / "tmp"), {}));
  writer->reset();
  auto ids = store_->List("");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ((std::vector<std::string>{Id(0), Id(1, "ffffffffffffffffffffffffffffffff")}), *ids);
  StoreUsage usage = store_->Usage();
  EXPECT_EQ(2u, usage.shard_count);
  EXPECT_EQ(expected_bytes, usage.used_bytes);
  EXPECT_GT(usage.capacity_bytes, 0u);
  EXPECT_LE(usage.available_bytes, usage.capacity_bytes);
  ExpectShard(Id(0), a);
  ExpectShard(Id(1, "ffffffffffffffffffffffffffffffff"), b);
}

TEST_F(ShardStoreTest, UsageFollowsCommitReplaceAndRemove) {
  Put(Id(0), 1024, 3);
  uint64_t size0 = fs::file_size(ShardPath(Id(0)));
  EXPECT_EQ(1u, store_->Usage().shard_count);
  EXPECT_EQ(size0, store_->Usage().used_bytes);

  auto replaced = Put(Id(0), 1024, 5, 7);  // same id: replaces
  uint64_t size0b = fs::file_size(ShardPath(Id(0)));
  EXPECT_EQ(1u, store_->Usage().shard_count);
  EXPECT_EQ(size0b, store_->Usage().used_bytes);
  ExpectShard(Id(0), replaced);

  Put(Id(1), 1024, 1);
  EXPECT_EQ(2u, store_->Usage().shard_count);
  ASSERT_TRUE(store_->Remove(Id(0)).ok());
  EXPECT_EQ(1u, store_->Usage().shard_count);
  EXPECT_EQ(fs::file_size(ShardPath(Id(1))), store_->Usage().used_bytes);
}

TEST_F(ShardStoreTest, Remove) {
  Put(Id(4), 1024, 2);
  ASSERT_TRUE(store_->Remove(Id(4)).ok());
  EXPECT_EQ(Errc::kNotFound, OpenError(Id(4)));
  EXPECT_FALSE(fs::exists(ShardPath(Id(4))));
  EXPECT_TRUE(store_->List("")->empty());
  EXPECT_EQ(Errc::kNotFound, store_->Remove(Id(4)).error().code);
  EXPECT_EQ(Errc::kNotFound, OpenError(Id(9)));
  EXPECT_EQ(0u, store_->Usage().used_bytes);
}

TEST_F(ShardStoreTest, DestroyingUncommittedWriterLeavesNothing) {
  auto blocks = Blocks(4096, 3, 5);
  {
    auto writer = store_->Create(Id(6), 4096);
    ASSERT_TRUE(writer.ok());
    for (uint64_t i = 0; i < 3; ++i) {
      ASSERT_TRUE(
          (*writer)->AppendBlock(Bytes(blocks[i]), BlockChecksum(Bytes(blocks[i]), i)).ok());
    }
    EXPECT_EQ(1, std::distance(fs::directory_iterator(data_dir_ / "tmp"), {}));
  }
  EXPECT_EQ(0, std::distance(fs::directory_iterator(data_dir_ / "tmp"), {}));
  EXPECT_EQ(0, std::distance(fs::directory_iterator(data_dir_ / "shards"), {}));
  EXPECT_TRUE(store_->List("")->empty());
  EXPECT_EQ(Errc::kNotFound, OpenError(Id(6)));
  EXPECT_EQ(0u, store_->Usage().shard_count);
}

TEST_F(ShardStoreTest, DetectsTruncation) {
  Put(Id(3), 1024, 4);
  fs::path path = ShardPath(Id(3));
  const std::string original = ReadAll(path);
  const size_t size = original.size();
  const size_t blocks_end = 4 * (1024 + 8);
  std::vector<size_t> cuts = {0,
                              1,
                              8,
                              512,
                              1024 + 4,
                              blocks_end - 1,
                              blocks_end,
                              blocks_end + 10,  // inside the footer
                              size - 20,
                              size - 19,
                              size - 12,
                              size - 8,
                              size - 1};
  for (size_t cut : cuts) {
    WriteAll(path, std::string_view(original).substr(0, cut));
    auto reader = OpenShard(Id(3));
    ASSERT_FALSE(reader.ok()) << "cut at " << cut;
    EXPECT_EQ(Errc::kCorrupt, reader.error().code) << reader.error().message;
    EXPECT_NE(std::string::npos, reader.error().message.find(Id(3))) << reader.error().message;
  }
  // Extra bytes appended are as wrong as missing ones.
  WriteAll(path, original + "x");
  EXPECT_EQ(Errc::kCorrupt, OpenError(Id(3)));
  WriteAll(path, original);
  EXPECT_TRUE(OpenShard(Id(3)).ok());
}

TEST_F(ShardStoreTest, DetectsTruncationAfterOpen) {
  auto blocks = Put(Id(3), 1024, 4);
  auto reader = OpenShard(Id(3));
  ASSERT_TRUE(reader.ok());
  fs::resize_file(ShardPath(Id(3)), 2 * (1024 + 8) + 100);
  std::string out(1024, '\0');
  auto read = (*reader)->ReadBlock(2, {reinterpret_cast<uint8_t*>(out.data()), out.size()});
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(Errc::kCorrupt, read.error().code);
  EXPECT_TRUE((*reader)->ReadBlock(1, {reinterpret_cast<uint8_t*>(out.data()), out.size()}).ok());
}

TEST_F(ShardStoreTest, BitFlipInBlockFailsOnlyThatBlock) {
  auto blocks = Put(Id(7), 1024, 4);
  fs::path path = ShardPath(Id(7));
  std::string bytes = ReadAll(path);
  bytes[1 * (1024 + 8) + 100] ^= 0x10;       // block 1 payload
  bytes[2 * (1024 + 8) + 1024 + 3] ^= 0x01;  // block 2 stored checksum
  WriteAll(path, bytes);

  auto reader = OpenShard(Id(7));
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  for (uint64_t i = 0; i < 4; ++i) {
    std::string out(1024, '\0');
    auto read = (*reader)->ReadBlock(i, {reinterpret_cast<uint8_t*>(out.data()), out.size()});
    if (i == 1 || i == 2) {
      ASSERT_FALSE(read.ok()) << i;
      EXPECT_EQ(Errc::kCorrupt, read.error().code);
      EXPECT_NE(std::string::npos, read.error().message.find("block " + std::to_string(i)))
          << read.error().message;
    } else {
      ASSERT_TRUE(read.ok()) << read.error().message;
      EXPECT_TRUE(out == blocks[i]);
    }
  }
}

TEST_F(ShardStoreTest, AnyBitFlipInFooterOrTailIsDetected) {
  Put(Id(8), 1024, 2);
  fs::path path = ShardPath(Id(8));
  const std::string original = ReadAll(path);
  for (size_t at = 2 * (1024 + 8); at < original.size(); ++at) {
    for (uint8_t bit : {static_cast<uint8_t>(1u << (at % 8))}) {
      std::string bytes = original;
      bytes[at] ^= bit;
      WriteAll(path, bytes);
      auto reader = OpenShard(Id(8));
      ASSERT_FALSE(reader.ok()) << "flip at " << at;
      EXPECT_EQ(Errc::kCorrupt, reader.error().code) << reader.error().message;
    }
  }
}

TEST_F(ShardStoreTest, DetectsWrongMagic) {
  Put(Id(8), 1024, 2);
  fs::path path = ShardPath(Id(8));
  std::string bytes = ReadAll(path);
  bytes.replace(bytes.size() - 8, 8, "HFSHARD2");
  WriteAll(path, bytes);
  auto reader = OpenShard(Id(8));
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(Errc::kCorrupt, reader.error().code);
  EXPECT_NE(std::string::npos, reader.error().message.find("magic")) << reader.error().message;
}

TEST_F(ShardStoreTest, DetectsShardFileUnderAnotherId) {
  Put(Id(1), 1024, 2);
  // Another shard index of the same object, and another object's id.
  std::string other_index = Id(2);
  std::string other_object = Id(1, "0123456789abcdef0123456789abcde0");
  for (const std::string& id : {other_index, other_object}) {
    fs::create_directories(ShardPath(id).parent_path());
    fs::copy_file(ShardPath(Id(1)), ShardPath(id));
    auto reader = OpenShard(id);
    ASSERT_FALSE(reader.ok()) << id;
    EXPECT_EQ(Errc::kCorrupt, reader.error().code);
    EXPECT_NE(std::string::npos, reader.error().message.find("renamed")) << reader.error().message;
  }
}

TEST_F(ShardStoreTest, InvalidIdsAreRejectedWithoutTouchingFiles) {
  Put(Id(0), 1024, 1);
  const std::string hex(kHex);
  const std::string ids[] = {
      "../x",
      "",
      "0123456789ABCDEF0123456789abcdef.1",
      hex + ".48",
      "abc.1",
      hex + ".01",
      hex + ".",
      hex,
      hex + ".1/",
      "01/3456789abcdef0123456789abcdef.1",
      hex + ".-1",
      std::string("0123456789abcdef0123456789abcdef\0.1", 35),
      hex + std::string(".1\0", 3),
      "../../../../../../tmp/x.1",
      hex + "0.1",
      hex.substr(1) + ".1",
      hex + ".100",
  };
  auto before = fs::recursive_directory_iterator(root_);
  size_t entries_before = std::distance(before, {});
  for (const std::string& id : ids) {
    EXPECT_FALSE(IsValidShardId(id)) << format::QuoteId(id);
    auto writer = store_->Create(id, 1024);
    ASSERT_FALSE(writer.ok());
    EXPECT_EQ(Errc::kInvalidArgument, writer.error().code);
    EXPECT_EQ(Errc::kInvalidArgument, OpenError(id));
    EXPECT_EQ(Errc::kInvalidArgument, store_->Remove(id).error().code);
  }
  EXPECT_EQ(entries_before,
            static_cast<size_t>(std::distance(fs::recursive_directory_iterator(root_), {})));
  EXPECT_EQ(1u, store_->List("")->size());
  for (const std::string& id :
       {Id(0), Id(9), Id(10), Id(47), Id(0, "00000000000000000000000000000000")}) {
    EXPECT_TRUE(IsValidShardId(id)) << id;
  }
}

TEST_F(ShardStoreTest, FailedFsyncMakesStoreReadOnly) {
  Put(Id(0), 1024, 1);
  auto fail = std::make_shared<std::atomic<bool>>(false);
  store_.reset();
  auto store = OpenShardStoreWithFsync(data_dir_, [fail](int fd) {
    if (fail->load()) {
      errno = EIO;
      return -1;
    }
    return ::fsync(fd);
  });
  ASSERT_TRUE(store.ok());
  store_ = std::move(*store);

  auto blocks = Blocks(1024, 1, 3);
  auto writer = store_->Create(Id(1), 1024);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->AppendBlock(Bytes(blocks[0]), BlockChecksum(Bytes(blocks[0]), 0)).ok());
  fail->store(true);
  Status committed = (*writer)->Commit(Footer(1, 1024, 1));
  ASSERT_FALSE(committed.ok());
  EXPECT_EQ(Errc::kIo, committed.error().code);
  EXPECT_TRUE(store_->read_only());
  writer->reset();
  EXPECT_EQ(0, std::distance(fs::directory_iterator(data_dir_ / "tmp"), {}));
  EXPECT_EQ(Errc::kNotFound, OpenError(Id(1)));

  fail->store(false);  // even if the disk "recovers", the store stays read-only
  auto refused = store_->Create(Id(2), 1024);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(Errc::kIo, refused.error().code);
  EXPECT_NE(std::string::npos, refused.error().message.find("read-only after an fsync failure"))
      << refused.error().message;
  EXPECT_EQ(Errc::kIo, store_->Remove(Id(0)).error().code);
  EXPECT_TRUE(OpenShard(Id(0)).ok());  // reads still work
}

TEST_F(ShardStoreTest, FailedDirectoryFsyncMakesStoreReadOnly) {
  Put(Id(0), 1024, 1);  // creates shards/01/
  store_.reset();
  auto store = OpenShardStoreWithFsync(data_dir_, [](int fd) {
    struct stat st;
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      errno = EIO;
      return -1;
    }
    return ::fsync(fd);
  });
  ASSERT_FALSE(store.ok());  // Open fsyncs the directories too
  EXPECT_EQ(Errc::kIo, store.error().code);

  auto calls = std::make_shared<std::atomic<int>>(0);
  store = OpenShardStoreWithFsync(data_dir_, [calls](int fd) {
    struct stat st;
    if (calls->load() > 0 && ::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      errno = EIO;
      return -1;
    }
    return ::fsync(fd);
  });
  ASSERT_TRUE(store.ok()) << store.error().message;
  store_ = std::move(*store);
  calls->store(1);
  // The rename happened but could not be made durable: not acknowledged.
  auto blocks = Blocks(1024, 1, 3);
  auto writer = store_->Create(Id(1), 1024);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->AppendBlock(Bytes(blocks[0]), BlockChecksum(Bytes(blocks[0]), 0)).ok());
  Status committed = (*writer)->Commit(Footer(1, 1024, 1));
  ASSERT_FALSE(committed.ok());
  EXPECT_EQ(Errc::kIo, committed.error().code);
  EXPECT_NE(std::string::npos, committed.error().message.find("read-only"));
  EXPECT_TRUE(store_->read_only());
  EXPECT_EQ(Errc::kIo, store_->Remove(Id(0)).error().code);
}

TEST_F(ShardStoreTest, ConcurrentWritersAndReaders) {
  constexpr int kThreads = 4;
  constexpr int kShardsPerThread = 6;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int s = 0; s < kShardsPerThread; ++s) {
        std::string id = Id(t * kShardsPerThread + s);
        auto blocks = Put(id, 2048, 3, t * 100 + s);
        auto reader = OpenShard(id);
        if (!reader.ok()) ++failures;
        if (s % 2 == 1 && !store_->Remove(id).ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(0, failures.load());
  EXPECT_EQ(uint64_t{kThreads * kShardsPerThread / 2}, store_->Usage().shard_count);
  EXPECT_EQ(size_t{kThreads * kShardsPerThread / 2}, store_->List("")->size());
}

TEST(ShardFooterJson, RoundTripsAndRejectsMalformedFooters) {
  ShardFooter footer;
  footer.bucket = "b";
  footer.key = "k\n\"ü";
  footer.object_size_bytes = ~uint64_t{0};
  footer.shard_index = 47;
  footer.block_size_bytes = 0xffffffff;
  footer.block_count = 123;
  footer.created_unix_ms = -5;
  auto decoded = DecodeFooterJson(EncodeFooterJson(footer));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(footer.key, decoded->key);
  EXPECT_EQ(footer.object_size_bytes, decoded->object_size_bytes);
  EXPECT_EQ(47, decoded->shard_index);
  EXPECT_EQ(footer.block_size_bytes, decoded->block_size_bytes);
  EXPECT_EQ(-5, decoded->created_unix_ms);

  std::string good = EncodeFooterJson(footer);
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    size_t at = text.find(from);
    EXPECT_NE(std::string::npos, at) << from;
    return text.replace(at, from.size(), to);
  };
  for (const std::string& bad : {
           std::string("not json"),
           std::string("[1,2]"),
           std::string("{}"),
           replace("\"block_count\":123", "\"block_count\":-1"),
           replace("\"block_count\":123", "\"block_count\":1.5"),
           replace("\"block_count\":123", "\"block_count\":\"123\""),
           replace("\"shard_index\":47", "\"shard_index\":48"),
           replace("\"block_size_bytes\":4294967295", "\"block_size_bytes\":4294967296"),
           replace("\"format_version\":1", "\"format_version\":2"),
           replace("\"bucket\":\"b\"", "\"bucket\":7"),
           replace("\"bucket\":\"b\",", ""),
       }) {
    auto result = DecodeFooterJson(bad);
    EXPECT_FALSE(result.ok()) << bad;
  }
}

}  // namespace
}  // namespace holdfast::storage
