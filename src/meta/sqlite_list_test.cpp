// ListObjects against a brute-force reference, paging, the 0xFF edge cases,
// a scale check, and the query plans behind the index-backed operations.
#include "meta/sqlite_list.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "meta/meta_store.h"
#include "meta/sqlite_db.h"
#include "meta/test_util.h"

namespace holdfast::meta {
namespace {

using namespace holdfast::meta::test_util;  // NOLINT: test helpers

// One entry of a listing: an object key or a common prefix.
struct Entry {
  bool is_prefix = false;
  std::string name;
  bool operator==(const Entry&) const = default;
};

std::string Printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

std::string Describe(const ListQuery& query) {
  return "prefix='" + Printable(query.prefix) + "' delimiter='" + Printable(query.delimiter) +
         "' start_after='" + Printable(query.start_after) +
         "' max_keys=" + std::to_string(query.max_keys);
}

// Every entry the query matches, ignoring max_keys: the definition that
// ListObjects must agree with.
std::vector<Entry> ReferenceEntries(const std::set<std::string>& keys, const ListQuery& query) {
  std::vector<Entry> entries;
  for (const std::string& key : keys) {
    if (!key.starts_with(query.prefix)) continue;
    size_t pos = std::string::npos;
    if (!query.delimiter.empty()) pos = key.find(query.delimiter, query.prefix.size());
    if (pos != std::string::npos) {
      Entry prefix{true, key.substr(0, pos + query.delimiter.size())};
      if (prefix.name <= query.start_after) continue;
      if (!entries.empty() && entries.back() == prefix) continue;
      entries.push_back(std::move(prefix));
    } else if (key > query.start_after) {
      entries.push_back(Entry{false, key});
    }
  }
  return entries;
}

// Merges objects and common prefixes back into one ordered sequence.
std::vector<Entry> EntriesOf(const ListResult& result) {
  std::vector<Entry> entries;
  for (const ListedObject& object : result.objects) entries.push_back(Entry{false, object.key});
  for (const std::string& prefix : result.common_prefixes) entries.push_back(Entry{true, prefix});
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return entries;
}

class ListObjectsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = OpenSqliteStore(dir_.path() / "meta.db", clock_);
    ASSERT_TRUE(opened.ok()) << Why(opened);
    store_ = std::move(opened).value();
    ASSERT_OK(store_->CreateBucket(Bucket{"b", "alice", "eu", 1}));
    ASSERT_OK(store_->CreateBucket(Bucket{"other", "alice", "eu", 1}));
  }

  void Put(const std::string& key) {
    ObjectVersion version = MakeVersion("b", key, ++next_version_);
    ASSERT_OK(store_->BeginWrite(PendingFor(version, 0)));
    ASSERT_OK(store_->CommitObject(version));
    keys_.insert(key);
  }

  // Checks one query against the reference, then pages through all of it.
  void Check(const ListQuery& query) {
    SCOPED_TRACE(Describe(query));
    const std::vector<Entry> all = ReferenceEntries(keys_, query);
    auto result = store_->ListObjects("b", query);
    ASSERT_OK(result);
    const size_t page_size = static_cast<size_t>(std::min(query.max_keys, 1000));
    const std::vector<Entry> expected(
        all.begin(), all.begin() + static_cast<long>(std::min(page_size, all.size())));
    EXPECT_EQ(EntriesOf(*result), expected);
    // Like S3, max_keys 0 lists nothing and does not claim more.
    EXPECT_EQ(result->is_truncated, page_size > 0 && all.size() > page_size);
    if (result->is_truncated) {
      ASSERT_FALSE(expected.empty());
      EXPECT_EQ(result->next_start_after, expected.back().name);
    } else {
      EXPECT_EQ(result->next_start_after, "");
    }
    for (const ListedObject& object : result->objects) {
      EXPECT_FALSE(object.etag.empty());
      EXPECT_GT(object.size_bytes, 0u);
    }
    if (query.max_keys == 0) return;

    std::vector<Entry> paged;
    ListQuery page = query;
    for (size_t pages = 0; pages <= all.size() + 1; ++pages) {
      auto next = store_->ListObjects("b", page);
      ASSERT_OK(next);
      std::vector<Entry> entries = EntriesOf(*next);
      paged.insert(paged.end(), entries.begin(), entries.end());
      if (!next->is_truncated) break;
      page.start_after = next->next_start_after;
    }
    EXPECT_EQ(paged, all);
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<MetaStore> store_;
  std::set<std::string> keys_;
  int next_version_ = 0;
};

TEST(PrefixSuccessorTest, SkipsTrailingFfBytes) {
  EXPECT_EQ(sqlite::PrefixSuccessor("abc"), "abd");
  EXPECT_EQ(sqlite::PrefixSuccessor("a/"), "a0");
  EXPECT_EQ(sqlite::PrefixSuccessor("a\xff"), "b");
  EXPECT_EQ(sqlite::PrefixSuccessor("a\xfe\xff\xff"), "a\xff");
  EXPECT_EQ(sqlite::PrefixSuccessor(""), std::nullopt);
  EXPECT_EQ(sqlite::PrefixSuccessor("\xff\xff"), std::nullopt);
}

TEST_F(ListObjectsTest, HandPickedEdgeCases) {
  for (const char* key :
       {"a", "a/", "a//b", "a/b", "a/b/c", "a/c", "a0", "ab", "a\xff", "a\xff\xff", "a\xff/x", "b",
        "\xff", "\xff\xff/", "\xff\xff/z", "caf\xc3\xa9/menu", "caf\xc3\xa9s"}) {
    Put(key);
  }
  Put(std::string("a\0b", 3));  // an embedded NUL sorts before every other byte

  Check(ListQuery{});
  Check(ListQuery{"", "/", "", 1000});
  Check(ListQuery{"a/", "/", "", 1000});
  Check(ListQuery{"a\xff", "", "", 1000});
  Check(ListQuery{"\xff", "/", "", 1000});
  Check(ListQuery{"\xff\xff", "", "", 1000});
  Check(ListQuery{"", "\xff", "", 1000});
  Check(ListQuery{"caf\xc3\xa9", "/", "", 1000});
  Check(ListQuery{"", "/", "a/", 1000});   // start_after is a common prefix
  Check(ListQuery{"", "/", "a/b", 1000});  // ... or lies inside one
  Check(ListQuery{"", "/", "\xff\xff/", 1000});
  Check(ListQuery{"", "", "a", 2});
  Check(ListQuery{"", "", "zzz", 10});
  Check(ListQuery{"a", "/", "", 1});
  Check(ListQuery{"nothing", "/", "", 5});
  Check(ListQuery{"", "/", "", 0});

  auto empty = store_->ListObjects("b", ListQuery{"", "", "", 0});
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->objects.empty());
  EXPECT_FALSE(empty->is_truncated);
  EXPECT_ERRC(store_->ListObjects("b", ListQuery{"", "", "", -1}), Errc::kInvalidArgument);
  EXPECT_ERRC(store_->ListObjects("nope", ListQuery{}), Errc::kNotFound);
  auto other = store_->ListObjects("other", ListQuery{});
  ASSERT_OK(other);
  EXPECT_TRUE(other->objects.empty());
}

TEST_F(ListObjectsTest, MatchesReferenceOnRandomQueries) {
  // Few distinct pieces, so that keys share prefixes and delimiters often.
  const std::vector<std::string> pieces = {"a",    "b",    "/",    "\xc3\xa9", "\xe6\x97\xa5",
                                           "\xff", "\xfe", "\x7f", "z",        "//"};
  std::mt19937 rng(20240611);
  auto pick = [&](const std::vector<std::string>& from) {
    return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)];
  };
  auto random_string = [&](int max_pieces) {
    std::string s;
    const int count = std::uniform_int_distribution<int>(1, max_pieces)(rng);
    for (int i = 0; i < count; ++i) s += pick(pieces);
    return s;
  };
  while (keys_.size() < 300) {
    const std::string key = random_string(6);
    if (!keys_.contains(key)) Put(key);
  }
  const std::vector<std::string> key_list(keys_.begin(), keys_.end());
  auto random_key_prefix = [&] {
    const std::string& key = pick(key_list);
    return key.substr(0, std::uniform_int_distribution<size_t>(0, key.size())(rng));
  };
  const std::vector<std::string> delimiters = {"", "/", "\xff", "a", "/b", "\xc3\xa9"};
  const std::vector<int> max_keys = {0, 1, 2, 3, 7, 20, 1000};

  for (int round = 0; round < 400; ++round) {
    ListQuery query;
    const int shape = std::uniform_int_distribution<int>(0, 9)(rng);
    if (shape >= 4) query.prefix = shape < 8 ? random_key_prefix() : random_string(2);
    query.delimiter = pick(delimiters);
    const int start = std::uniform_int_distribution<int>(0, 9)(rng);
    if (start >= 4 && start < 6) query.start_after = pick(key_list);
    if (start >= 6 && start < 8) query.start_after = random_key_prefix();
    if (start >= 8) query.start_after = random_string(3);
    query.max_keys = max_keys[std::uniform_int_distribution<size_t>(0, max_keys.size() - 1)(rng)];
    Check(query);
    if (HasFatalFailure()) return;
  }
}

// Not a timed assertion: shows that a delimiter listing jumps over common
// prefixes instead of reading the keys beneath them.
TEST_F(ListObjectsTest, ScaleManyKeysUnderFewPrefixes) {
  constexpr int kPrefixes = 10;
  constexpr int kKeysPerPrefix = 10'000;
  {
    // Bulk-load directly: 100,000 one-fsync commits would dominate the test.
    auto raw = sqlite::Db::Open(dir_.path() / "meta.db");
    ASSERT_OK(raw);
    sqlite::Txn txn(**raw);
    ASSERT_OK(txn.Begin(sqlite::Txn::Mode::kWrite));
    for (int p = 0; p < kPrefixes; ++p) {
      for (int i = 0; i < kKeysPerPrefix; ++i) {
        sqlite::Stmt stmt = (*raw)->Prepare(
            "INSERT INTO object_versions (version_id, bucket, key, size_bytes, etag, "
            "content_type, created_unix_ms, k, m, block_size_bytes) "
            "VALUES (?1, 'b', ?2, 1, 'e', 'x', 0, 2, 1, 4096)");
        char key[32];
        std::snprintf(key, sizeof key, "p%d/obj%06d", p, i);
        stmt.BindText(1, VersionId(p * kKeysPerPrefix + i + 1)).BindText(2, key);
        ASSERT_OK(stmt.Run());
      }
    }
    ASSERT_OK(txn.Commit());
  }
  const auto start = std::chrono::steady_clock::now();
  auto listed = store_->ListObjects("b", ListQuery{"", "/", "", 1000});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_OK(listed);
  EXPECT_EQ(listed->common_prefixes.size(), static_cast<size_t>(kPrefixes));
  EXPECT_TRUE(listed->objects.empty());
  EXPECT_FALSE(listed->is_truncated);
  std::printf("[ scale    ] delimiter listing over %d keys: %lld us\n", kPrefixes * kKeysPerPrefix,
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()));

  auto page = store_->ListObjects("b", ListQuery{"p3/", "/", "p3/obj000499", 1000});
  ASSERT_OK(page);
  ASSERT_EQ(page->objects.size(), 1000u);
  EXPECT_EQ(page->objects.front().key, "p3/obj000500");
  EXPECT_TRUE(page->is_truncated);
  EXPECT_EQ(page->next_start_after, "p3/obj001499");
}

// The index-backed operations must stay index-backed (DESIGN.md: repair
// finds everything on a lost node through an index, not a scan). The SQL
// shapes mirror sqlite_list.cpp and sqlite_store.cpp.
TEST_F(ListObjectsTest, QueryPlansUseIndexes) {
  auto raw = sqlite::Db::Open(dir_.path() / "meta.db");
  ASSERT_OK(raw);
  struct Case {
    const char* sql;
    const char* index;
    bool scans_partial_index = false;
  };
  const Case cases[] = {
      {"SELECT key, size_bytes, etag, created_unix_ms FROM object_versions "
       "WHERE bucket = ?1 AND is_latest = 1 AND key >= ?2 AND key < ?3 ORDER BY key LIMIT ?4",
       "object_versions_latest"},
      {"SELECT key, size_bytes, etag, created_unix_ms FROM object_versions "
       "WHERE bucket = ?1 AND is_latest = 1 AND key >= ?2 ORDER BY key LIMIT ?3",
       "object_versions_latest"},
      {"SELECT version_id FROM object_versions WHERE bucket = ?1 AND key = ?2 AND is_latest = 1",
       "object_versions_latest"},
      {"SELECT version_id, shard_index FROM shards WHERE node_id = ?1 "
       "AND (version_id, shard_index) > (?2, ?3) ORDER BY version_id, shard_index LIMIT ?4",
       "shards_by_node"},
      {"SELECT DISTINCT version_id FROM shards WHERE state != 'ok'", "shards_not_ok", true},
      {"SELECT version_id, bucket, key, started_unix_ms FROM pending_writes "
       "WHERE started_unix_ms < ?1 ORDER BY started_unix_ms, version_id LIMIT ?2",
       "pending_writes_by_start"},
      {"SELECT 1 FROM pending_writes WHERE bucket = ?1 LIMIT 1", "pending_writes_by_bucket"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.sql);
    sqlite::Stmt stmt = (*raw)->Prepare((std::string("EXPLAIN QUERY PLAN ") + c.sql).c_str());
    std::string plan;
    while (true) {
      auto row = stmt.Step();
      ASSERT_OK(row);
      if (!*row) break;
      plan += stmt.ColumnText(3) + "\n";
    }
    EXPECT_NE(plan.find(c.index), std::string::npos) << plan;
    // A SCAN is fine only over a partial index (it holds just the rows asked for).
    EXPECT_EQ(plan.find("SCAN") != std::string::npos, c.scans_partial_index) << plan;
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
  }
}

}  // namespace
}  // namespace holdfast::meta
