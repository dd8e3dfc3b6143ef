#include "node/scrubber.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "storage/shard_store.h"

namespace holdfast::node {
namespace {

namespace fs = std::filesystem;

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// "<32 hex>.<index>" with the hex part spread over the store's directories.
std::string Id(int n, int shard_index = 0) {
  char hex[33];
  std::snprintf(hex, sizeof hex, "%02x%030d", (n * 37) % 256, n);
  return std::string(hex) + "." + std::to_string(shard_index);
}

ScrubOptions Options(uint64_t bytes_per_second, std::chrono::seconds interval,
                     fs::path progress_file = {}) {
  ScrubOptions options;
  options.bytes_per_second = bytes_per_second;
  options.interval = interval;
  options.progress_file = std::move(progress_file);
  return options;
}

// Polls `condition` for up to `seconds`.
template <typename Condition>
bool Eventually(Condition condition, int seconds = 10) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

class ScrubberTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hf_scrubber_test.XXXXXX";
    ASSERT_NE(nullptr, ::mkdtemp(pattern));
    root_ = pattern;
    OpenStore();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(root_);
  }
  void OpenStore() {
    store_.reset();
    auto store = storage::ShardStore::Open(root_);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
  }

  void Put(const std::string& id, uint32_t block_size, uint64_t count) {
    std::mt19937_64 rng(count);
    auto writer = store_->Create(id, block_size);
    ASSERT_TRUE(writer.ok()) << writer.error().message;
    for (uint64_t i = 0; i < count; ++i) {
      std::string block(block_size, '\0');
      for (char& c : block) c = static_cast<char>(rng());
      ASSERT_TRUE((*writer)->AppendBlock(Bytes(block), storage::BlockChecksum(Bytes(block), i)).ok());
    }
    storage::ShardFooter footer;
    footer.bucket = "b";
    footer.key = "k";
    footer.version_id = id.substr(0, 32);
    footer.object_size_bytes = block_size * count;
    footer.data_shard_count = 1;
    footer.parity_shard_count = 2;
    footer.shard_index = std::stoi(id.substr(33));
    footer.block_size_bytes = block_size;
    footer.block_count = count;
    ASSERT_TRUE((*writer)->Commit(footer).ok());
  }

  void Flip(const std::string& id, uint64_t offset) {
    fs::path path = root_ / "shards" / id.substr(0, 2) / id;
    std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
    file.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    file.get(c);
    file.seekp(static_cast<std::streamoff>(offset));
    file.put(static_cast<char>(c ^ 0x01));
  }

  fs::path root_;
  std::unique_ptr<storage::ShardStore> store_;
};

TEST_F(ScrubberTest, PassFindsExactlyTheCorruptShardsAndReportsThemUntilAcknowledged) {
  for (int n = 0; n < 20; ++n) Put(Id(n), 512, 1 + n % 3);
  Flip(Id(3), 10);     // a payload byte
  Flip(Id(11), 512);   // a stored block checksum
  Scrubber scrubber(*store_, Options(1 << 30, std::chrono::seconds(3600)), SystemClock());
  scrubber.RunPassForTest();

  ScrubStats stats = scrubber.Stats();
  EXPECT_EQ(2u, stats.corrupt_found);
  EXPECT_EQ(18u, stats.shards_verified);
  EXPECT_EQ(1u, stats.passes_completed);
  EXPECT_GT(stats.last_pass_completed_unix_ms, 0);
  EXPECT_EQ(0u, stats.read_errors);
  EXPECT_GT(stats.bytes_verified, 18u * 512u);
  std::vector<std::string> expected{Id(3), Id(11)};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(expected, scrubber.PendingReports(10));
  EXPECT_EQ(1u, scrubber.PendingReports(1).size());

  scrubber.Acknowledge({Id(3)});
  EXPECT_EQ(std::vector<std::string>{Id(11)}, scrubber.PendingReports(10));

  // Quarantined shards are out of the store: the next pass does not count
  // them again.
  scrubber.RunPassForTest();
  stats = scrubber.Stats();
  EXPECT_EQ(2u, stats.corrupt_found);
  EXPECT_EQ(36u, stats.shards_verified);
  EXPECT_EQ(2u, stats.passes_completed);
}

TEST_F(ScrubberTest, QuarantinedShardsAreReportedAgainAfterARestart) {
  Put(Id(1), 100, 2);
  Put(Id(2), 100, 2);
  Flip(Id(2), 150);
  {
    Scrubber scrubber(*store_, Options(1 << 30, std::chrono::seconds(3600)), SystemClock());
    scrubber.RunPassForTest();
    ASSERT_EQ(1u, scrubber.Stats().corrupt_found);
  }  // the node stops before the gateway acknowledged the report
  OpenStore();
  // Even with scrubbing off, the report goes out again.
  Scrubber restarted(*store_, Options(0, std::chrono::seconds(3600)), SystemClock());
  restarted.Start();
  EXPECT_EQ(std::vector<std::string>{Id(2)}, restarted.PendingReports(10));
  EXPECT_EQ(0u, restarted.Stats().corrupt_found);  // found before, not now
  EXPECT_EQ(0u, restarted.Stats().rate_limit_bytes_per_second);
}

TEST_F(ScrubberTest, RepeatsPassesAndScrubsSuspectsAtOnceBetweenThem) {
  for (int n = 0; n < 5; ++n) Put(Id(n), 1000, 2);
  Scrubber scrubber(*store_, Options(1 << 30, std::chrono::seconds(3600)), SystemClock());
  scrubber.Start();
  ASSERT_TRUE(Eventually([&] { return scrubber.Stats().passes_completed == 1; }));
  EXPECT_EQ(5u, scrubber.Stats().shards_verified);

  // The next pass is an hour away; a read that hit a bad block does not wait.
  Flip(Id(4), 1500);
  scrubber.Suspect(Id(4));
  ASSERT_TRUE(Eventually([&] { return scrubber.Stats().corrupt_found == 1; }));
  EXPECT_EQ(std::vector<std::string>{Id(4)}, scrubber.PendingReports(10));
  EXPECT_EQ(1u, scrubber.Stats().passes_completed);
  // A suspect that is gone by then is no finding.
  scrubber.Suspect(Id(99));
  scrubber.Stop();
  EXPECT_EQ(1u, scrubber.Stats().corrupt_found);
  EXPECT_EQ(0u, scrubber.Stats().read_errors);
}

TEST_F(ScrubberTest, ShortIntervalRunsPassAfterPass) {
  Put(Id(1), 100, 1);
  Scrubber scrubber(*store_, Options(1 << 30, std::chrono::seconds(0)), SystemClock());
  scrubber.Start();
  EXPECT_TRUE(Eventually([&] { return scrubber.Stats().passes_completed >= 3; }));
}

TEST_F(ScrubberTest, ReadsArePacedToTheRate) {
  // 8 shards of 64 KiB + 8 per-shard charges of 64 KiB = 1 MiB at 2 MiB/s:
  // about 0.5 s, less the 0.25 s burst.
  for (int n = 0; n < 8; ++n) Put(Id(n), 64 * 1024 - 8, 1);
  Scrubber scrubber(*store_, Options(2 << 20, std::chrono::seconds(3600)), SystemClock());
  const auto started = std::chrono::steady_clock::now();
  scrubber.Start();
  ASSERT_TRUE(Eventually([&] { return scrubber.Stats().passes_completed == 1; }));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_GE(elapsed, std::chrono::milliseconds(200));
  EXPECT_EQ(8u, scrubber.Stats().shards_verified);
}

TEST_F(ScrubberTest, ResumesAnInterruptedPassWhereItStopped) {
  int upper = 0;
  for (int n = 0; n < 16; ++n) {
    Put(Id(n), 100, 1);
    if ((n * 37) % 256 >= 128) ++upper;
  }
  ASSERT_GT(upper, 0);
  ASSERT_LT(upper, 16);
  const fs::path progress = root_ / "scrub-progress.json";
  const int64_t started = SystemClock().NowUnixMs() - 1000;
  std::ofstream(progress) << R"({"pass_started_unix_ms": )" << started
                          << R"(, "next_directory": 128, "last_pass_completed_unix_ms": 5})";
  Scrubber scrubber(*store_, Options(1 << 30, std::chrono::seconds(3600), progress),
                    SystemClock());
  scrubber.Start();
  ASSERT_TRUE(Eventually([&] { return scrubber.Stats().passes_completed == 1; }));
  EXPECT_EQ(uint64_t(upper), scrubber.Stats().shards_verified);
  scrubber.Stop();
  std::ifstream in(progress);
  const std::string saved(std::istreambuf_iterator<char>(in), {});
  EXPECT_NE(std::string::npos, saved.find(R"("next_directory":256)")) << saved;
  EXPECT_NE(std::string::npos, saved.find(std::to_string(started))) << saved;
}

TEST_F(ScrubberTest, ARestartDoesNotStartAPassBeforeTheIntervalIsUp) {
  Put(Id(1), 100, 2);
  const fs::path progress = root_ / "scrub-progress.json";
  const int64_t now = SystemClock().NowUnixMs();
  std::ofstream(progress) << R"({"pass_started_unix_ms": )" << now - 10000
                          << R"(, "next_directory": 256, "last_pass_completed_unix_ms": )"
                          << now - 5000 << "}";
  Scrubber scrubber(*store_, Options(1 << 30, std::chrono::seconds(3600), progress),
                    SystemClock());
  scrubber.Start();
  ASSERT_TRUE(Eventually([&] { return scrubber.Stats().last_pass_completed_unix_ms == now - 5000; }));
  // Suspects are still scrubbed at once; the pass waits for its hour.
  Flip(Id(1), 5);
  scrubber.Suspect(Id(1));
  ASSERT_TRUE(Eventually([&] { return scrubber.Stats().corrupt_found == 1; }));
  EXPECT_EQ(0u, scrubber.Stats().passes_completed);
  EXPECT_EQ(0u, scrubber.Stats().shards_verified);
}

TEST_F(ScrubberTest, StopInterruptsASlowPass) {
  for (int n = 0; n < 4; ++n) Put(Id(n), 64 * 1024, 4);
  Scrubber scrubber(*store_, Options(1024, std::chrono::seconds(3600)), SystemClock());
  scrubber.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let it get going
  const auto started = std::chrono::steady_clock::now();
  scrubber.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  EXPECT_EQ(0u, scrubber.Stats().passes_completed);
}

}  // namespace
}  // namespace holdfast::node
