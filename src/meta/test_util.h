// Shared helpers of the meta/ tests.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "common/clock.h"
#include "meta/meta_store.h"

namespace holdfast::meta::test_util {

namespace fs = std::filesystem;

template <typename R>
std::string Why(const R& result) {
  if (result.ok()) return "ok";
  return std::string(ErrcName(result.error().code)) + ": " + result.error().message;
}

#define ASSERT_OK(expr)                                            \
  do {                                                             \
    auto&& assert_ok_result_ = (expr);                             \
    ASSERT_TRUE(assert_ok_result_.ok()) << Why(assert_ok_result_); \
  } while (0)

#define EXPECT_ERRC(expr, errc)                                                    \
  do {                                                                             \
    auto&& expect_errc_result_ = (expr);                                           \
    ASSERT_FALSE(expect_errc_result_.ok());                                        \
    EXPECT_EQ(expect_errc_result_.error().code, errc) << Why(expect_errc_result_); \
  } while (0)

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "holdfast-meta-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

class FakeClock final : public Clock {
 public:
  int64_t NowUnixMs() const override { return now_unix_ms.load(); }
  int64_t MonotonicMs() const override { return now_unix_ms.load(); }
  std::atomic<int64_t> now_unix_ms{1'700'000'000'000};
};

inline std::string VersionId(int n) {
  char buffer[33];
  std::snprintf(buffer, sizeof buffer, "%032x", n);
  return buffer;
}

inline ShardLocation Shard(int index, std::string node, ShardState state = ShardState::kOk) {
  return ShardLocation{index, std::move(node), state};
}

// A valid version: k=2, m=1, shard i on node "n<i>".
inline ObjectVersion MakeVersion(const std::string& bucket, const std::string& key, int n) {
  ObjectVersion version;
  version.version_id = VersionId(n);
  version.bucket = bucket;
  version.key = key;
  version.size_bytes = 1000 + static_cast<uint64_t>(n);
  version.etag = "etag-" + std::to_string(n);
  version.content_type = "text/plain";
  version.created_unix_ms = 1000 + n;
  version.data_shard_count = 2;
  version.parity_shard_count = 1;
  version.block_size_bytes = 65536;
  version.shards = {Shard(0, "n0"), Shard(1, "n1"), Shard(2, "n2")};
  return version;
}

inline PendingWrite PendingFor(const ObjectVersion& version, int64_t started_unix_ms) {
  return PendingWrite{version.version_id, version.bucket, version.key, started_unix_ms,
                      version.shards};
}

// A fresh SQLite store in a temporary directory with bucket "b" (owner
// alice), and Commit() for versions written the normal way.
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = OpenSqliteStore(dir_.path() / "meta.db", clock_);
    ASSERT_TRUE(opened.ok()) << Why(opened);
    store_ = std::move(opened).value();
    ASSERT_OK(store_->CreateBucket(Bucket{"b", "alice", "eu", 1}));
  }

  void Commit(const ObjectVersion& version) {
    ASSERT_OK(store_->BeginWrite(PendingFor(version, 1)));
    ASSERT_OK(store_->CommitObject(version));
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<MetaStore> store_;
};

}  // namespace holdfast::meta::test_util
