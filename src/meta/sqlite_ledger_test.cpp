// The ledger tables of the SQLite store: appends are checked against the
// log's size, subtrees and heads read back as stored, and the log cannot be
// rewritten through SQL. (Hashing is ledger/'s; ledger_test.cpp checks the
// store's contents against an in-memory tree.)
#include <sqlite3.h>

#include <string>

#include "meta/meta_store.h"
#include "meta/test_util.h"

namespace holdfast::meta {
namespace {

using test_util::TempDir;
using test_util::Why;

std::string Hex64(char c) { return std::string(64, c); }

LedgerEntryRecord Entry(uint64_t index) {
  return LedgerEntryRecord{index, "data_destroyed", 1000 + static_cast<int64_t>(index),
                           Hex64(static_cast<char>('a' + index % 6)),
                           R"({"index":)" + std::to_string(index) + "}"};
}

// A head whose own hash is `self` and whose previous one is `previous`.
LedgerTreeHeadRecord Head(uint64_t size, int64_t timestamp_ms, char previous, char self) {
  return LedgerTreeHeadRecord{0, size, timestamp_ms, Hex64('1'), Hex64(previous), Hex64(self), std::string(128, '2')};
}

class SqliteLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenSqliteStore(dir_.path() / "meta.db");
    ASSERT_TRUE(store.ok()) << Why(store);
    store_ = std::move(*store);
  }
  TempDir dir_;
  std::unique_ptr<MetaStore> store_;
};

TEST_F(SqliteLedgerTest, AppendsOnlyAtTheEnd) {
  ASSERT_EQ(*store_->LedgerSize(), 0u);
  ASSERT_OK(store_->AppendLedgerEntry(Entry(0), {}));
  ASSERT_OK(store_->AppendLedgerEntry(Entry(1), {{{1, 0}, Hex64('f')}}));
  EXPECT_EQ(*store_->LedgerSize(), 2u);
  // A writer that computed against a stale size is refused, and nothing of
  // its append is kept (the node row would collide otherwise).
  EXPECT_ERRC(store_->AppendLedgerEntry(Entry(1), {{{2, 0}, Hex64('e')}}), Errc::kConflict);
  EXPECT_ERRC(store_->AppendLedgerEntry(Entry(3), {}), Errc::kConflict);
  EXPECT_ERRC(store_->LedgerSubtreeHashes({{2, 0}}), Errc::kNotFound);
  EXPECT_EQ(*store_->LedgerSize(), 2u);

  auto entries = store_->LedgerEntries(1, 10);
  ASSERT_OK(entries);
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].index, 1u);
  EXPECT_EQ((*entries)[0].canonical, Entry(1).canonical);
  EXPECT_EQ((*entries)[0].leaf_hash_hex, Entry(1).leaf_hash_hex);
  EXPECT_EQ((*entries)[0].timestamp_ms, 1001);
  EXPECT_EQ(store_->LedgerEntries(0, 1)->size(), 1u);
  EXPECT_TRUE(store_->LedgerEntries(2, 10)->empty());
}

TEST_F(SqliteLedgerTest, SubtreesComeFromLeavesAndNodes) {
  for (uint64_t i = 0; i < 4; ++i) {
    std::vector<LedgerNodeRecord> nodes;
    if (i == 1) nodes.push_back({{1, 0}, Hex64('1')});
    if (i == 3) nodes = {{{1, 1}, Hex64('2')}, {{2, 0}, Hex64('3')}};
    ASSERT_OK(store_->AppendLedgerEntry(Entry(i), nodes));
  }
  auto hashes = store_->LedgerSubtreeHashes({{2, 0}, {0, 3}, {1, 1}, {0, 0}});
  ASSERT_OK(hashes);
  EXPECT_EQ(*hashes, (std::vector<std::string>{Hex64('3'), Entry(3).leaf_hash_hex, Hex64('2'),
                                               Entry(0).leaf_hash_hex}));
  EXPECT_ERRC(store_->LedgerSubtreeHashes({{0, 4}}), Errc::kNotFound);
}

TEST_F(SqliteLedgerTest, TreeHeadsChainNeverGoBackAndNeverOutrunTheLog) {
  EXPECT_FALSE(store_->LatestLedgerTreeHead()->has_value());
  EXPECT_ERRC(store_->AddLedgerTreeHead(Head(0, 10, 'a', 'b')), Errc::kConflict);  // the first follows zeros
  ASSERT_OK(store_->AddLedgerTreeHead(Head(0, 10, '0', 'a')));
  EXPECT_ERRC(store_->AddLedgerTreeHead(Head(1, 20, 'a', 'b')), Errc::kConflict);  // no entry yet
  ASSERT_OK(store_->AppendLedgerEntry(Entry(0), {}));
  ASSERT_OK(store_->AppendLedgerEntry(Entry(1), {{{1, 0}, Hex64('f')}}));
  EXPECT_ERRC(store_->AddLedgerTreeHead(Head(2, 20, '0', 'b')), Errc::kConflict);  // does not follow 'a'
  auto second = store_->AddLedgerTreeHead(Head(2, 20, 'a', 'b'));
  ASSERT_OK(second);
  EXPECT_GT(second->seq, 0);
  EXPECT_EQ(second->previous_hash_hex, Hex64('a'));
  EXPECT_ERRC(store_->AddLedgerTreeHead(Head(1, 30, 'b', 'c')), Errc::kConflict);  // smaller
  EXPECT_ERRC(store_->AddLedgerTreeHead(Head(2, 19, 'b', 'c')), Errc::kConflict);  // older
  ASSERT_OK(store_->AddLedgerTreeHead(Head(2, 25, 'b', 'c')));                     // re-signed, same size

  auto latest = store_->LatestLedgerTreeHead();
  ASSERT_OK(latest);
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->tree_size, 2u);
  EXPECT_EQ((*latest)->timestamp_ms, 25);
  EXPECT_EQ((*latest)->head_hash_hex, Hex64('c'));
  EXPECT_EQ((*store_->LedgerTreeHeadOfSize(2))->timestamp_ms, 25);
  EXPECT_EQ((*store_->LedgerTreeHeadOfSize(0))->timestamp_ms, 10);
  EXPECT_FALSE(store_->LedgerTreeHeadOfSize(1)->has_value());

  auto all = store_->LedgerTreeHeads(0, 10);
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].tree_size, 0u);
  EXPECT_EQ((*all)[2].timestamp_ms, 25);
  auto after_first = store_->LedgerTreeHeads((*all)[0].seq, 1);
  ASSERT_EQ(after_first->size(), 1u);
  EXPECT_EQ((*after_first)[0].seq, (*all)[1].seq);
}

// Triggers refuse rewriting the log through SQL, so only a deliberate
// tamper (dropping them) can change it, and verification catches that.
TEST_F(SqliteLedgerTest, StoredLogCannotBeRewrittenThroughSql) {
  ASSERT_OK(store_->AppendLedgerEntry(Entry(0), {}));
  ASSERT_OK(store_->AddLedgerTreeHead(Head(1, 10, '0', 'a')));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() / "meta.db").c_str(), &db), SQLITE_OK);
  for (const char* sql : {"UPDATE ledger_entries SET canonical = '{}'", "DELETE FROM ledger_entries",
                          "UPDATE ledger_tree_heads SET tree_size = 0", "DELETE FROM ledger_tree_heads"}) {
    char* error = nullptr;
    EXPECT_NE(sqlite3_exec(db, sql, nullptr, nullptr, &error), SQLITE_OK) << sql;
    EXPECT_NE(std::string(error ? error : "").find("append-only"), std::string::npos) << sql;
    sqlite3_free(error);
  }
  sqlite3_close(db);
  EXPECT_EQ(store_->LedgerEntries(0, 10)->at(0).canonical, Entry(0).canonical);
}

}  // namespace
}  // namespace holdfast::meta
