// The Ledger over a real SQLite store: what it stores is exactly the RFC
// 9162 tree an independent in-memory build gives, proofs read from the
// store match, references and acknowledgements are checked, and two
// writers sharing one store stay consistent.
#include "ledger/ledger.h"

#include <gtest/gtest.h>

#include "ledger/verify.h"
#include "meta/test_util.h"

namespace holdfast::ledger {
namespace {

using nlohmann::json;
using meta::test_util::FakeClock;
using meta::test_util::TempDir;

json Destroyed(int n) { return {{"what", "object " + std::to_string(n)}, {"reason", "expired"}}; }

json Notice() {
  return {{"scope", "provider:hostco"}, {"effective_ms", 1800000000000}, {"recipients", {"legal@hostco.example"}}};
}

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = meta::OpenSqliteStore(dir_.path() / "meta.db");
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    auto key = SigningKey::Generate();
    ASSERT_TRUE(key.ok());
    key_ = std::make_unique<SigningKey>(*key);
    ledger_ = std::make_unique<Ledger>(*store_, *key_, clock_);
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<meta::MetaStore> store_;
  std::unique_ptr<SigningKey> key_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(LedgerTest, StoredTreeMatchesAnIndependentBuildForEverySize) {
  constexpr uint64_t kEntries = 70;
  MemoryTree reference;
  ASSERT_EQ(*ledger_->Root(0), EmptyTreeHash());
  for (uint64_t i = 0; i < kEntries; ++i) {
    clock_.now_unix_ms += 1;
    auto appended = ledger_->Append(EntryKind::kDataDestroyed, Destroyed(static_cast<int>(i)));
    ASSERT_TRUE(appended.ok()) << appended.error().message;
    EXPECT_EQ(appended->entry.index, i);
    EXPECT_EQ(appended->entry.timestamp_ms, clock_.now_unix_ms.load());
    EXPECT_EQ(appended->leaf_hash, LeafHash(appended->canonical));
    reference.Append(appended->leaf_hash);
  }
  ASSERT_EQ(*ledger_->Size(), kEntries);
  auto records = ledger_->Entries(0, 1000);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), kEntries);
  for (uint64_t size = 0; size <= kEntries; ++size) {
    ASSERT_EQ(*ledger_->Root(size), *reference.Root(size)) << size;
  }
  for (uint64_t size = 1; size <= kEntries; size += 3) {
    for (uint64_t index = 0; index < size; ++index) {
      ASSERT_EQ(*ledger_->InclusionProof(index, size), *reference.InclusionProof(index, size)) << index << "/" << size;
    }
    for (uint64_t first = 0; first <= size; ++first) {
      ASSERT_EQ(*ledger_->ConsistencyProof(first, size), *reference.ConsistencyProof(first, size));
    }
  }
  EXPECT_FALSE(ledger_->InclusionProof(kEntries, kEntries).ok());
  EXPECT_FALSE(ledger_->ConsistencyProof(5, kEntries + 1).ok());

  // A fresh Ledger on the same store (a restarted gateway) continues the tree.
  Ledger restarted(*store_, *key_, clock_);
  auto next = restarted.Append(EntryKind::kDataDestroyed, Destroyed(99));
  ASSERT_TRUE(next.ok());
  reference.Append(next->leaf_hash);
  EXPECT_EQ(*restarted.Root(kEntries + 1), *reference.Root(kEntries + 1));
}

TEST_F(LedgerTest, TwoWritersOnOneStoreNeverFork) {
  Ledger other(*store_, *key_, clock_);
  MemoryTree reference;
  for (int i = 0; i < 20; ++i) {
    Ledger& writer = i % 3 == 0 ? other : *ledger_;  // each sees the other's appends only through the store
    auto appended = writer.Append(EntryKind::kDataDestroyed, Destroyed(i));
    ASSERT_TRUE(appended.ok()) << appended.error().message;
    ASSERT_EQ(appended->entry.index, static_cast<uint64_t>(i));
    reference.Append(appended->leaf_hash);
  }
  EXPECT_EQ(*ledger_->Root(20), *reference.Root(20));
  auto head = other.SignTreeHead();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->root_hash, *reference.Root(20));
}

TEST_F(LedgerTest, TreeHeadsAreSignedOnDemandAndWhenGrown) {
  auto empty = ledger_->SignTreeHeadIfGrown();
  ASSERT_TRUE(empty.ok());
  ASSERT_TRUE(empty->has_value());  // no head yet: the empty tree gets one
  EXPECT_EQ((*empty)->tree_size, 0u);
  EXPECT_FALSE(ledger_->SignTreeHeadIfGrown()->has_value());
  ASSERT_TRUE(ledger_->Append(EntryKind::kDataDestroyed, Destroyed(1)).ok());
  clock_.now_unix_ms += 10;
  auto grown = ledger_->SignTreeHeadIfGrown();
  ASSERT_TRUE(grown->has_value());
  EXPECT_EQ((*grown)->tree_size, 1u);
  EXPECT_TRUE(VerifyTreeHead(ledger_->public_key(), **grown));
  // On demand: a fresh head even without growth. The clock stepping back
  // does not make a head older than the latest.
  clock_.now_unix_ms -= 1000;
  auto fresh = ledger_->SignTreeHead();
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->timestamp_ms, (*grown)->timestamp_ms);
  EXPECT_EQ((*ledger_->LatestTreeHead())->tree_size, 1u);
  auto heads = ledger_->TreeHeads(0, 10);
  ASSERT_TRUE(heads.ok());
  ASSERT_EQ(heads->size(), 3u);
  EXPECT_EQ((*heads)[0].head.previous_head_hash, Hash{});  // the chain starts at zeros
  for (size_t i = 1; i < heads->size(); ++i) {
    EXPECT_EQ((*heads)[i].head.previous_head_hash, TreeHeadHash((*heads)[i - 1].head));
  }
}

TEST_F(LedgerTest, ReceiptsVerifyOfflineAndAgainstALaterLog) {
  json fields = {{"document_sha256", std::string(64, '0')}, {"document_size_bytes", 0},
                 {"case_reference", "C-1"}, {"requested_by", "court"}, {"scope", ""}};
  auto receipt = ledger_->AppendWithReceipt(EntryKind::kPreservationRequest, fields);
  ASSERT_TRUE(receipt.ok()) << receipt.error().message;
  EXPECT_EQ(receipt->tree_head.tree_size, 1u);
  const json receipt_json = ReceiptToJson(*receipt);
  VerifyReport alone = VerifyReceipt(receipt_json, std::nullopt, nullptr);
  EXPECT_TRUE(alone.ok()) << ReportToText(alone);

  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ledger_->Append(EntryKind::kDataDestroyed, Destroyed(i)).ok());
  ASSERT_TRUE(ledger_->SignTreeHead().ok());
  ExportedLog log;
  log.public_key = ledger_->public_key();
  auto records = ledger_->Entries(0, 100);
  auto heads = ledger_->TreeHeads(0, 100);
  ASSERT_TRUE(records.ok() && heads.ok());
  for (const auto& record : *records) log.entry_lines.push_back(record.canonical);
  for (const auto& stored : *heads) log.head_lines.push_back(TreeHeadToJson(stored.head).dump());
  VerifyReport against = VerifyReceipt(receipt_json, std::nullopt, &log);
  EXPECT_TRUE(against.ok()) << ReportToText(against);
  EXPECT_EQ(against.consistency["second"], 6);

  // The operator rewrites history: the receipt no longer matches.
  ExportedLog rewritten = log;
  rewritten.entry_lines[0] = *SerializeEntry({0, EntryKind::kDataDestroyed, 1, Destroyed(0)});
  VerifyReport caught = VerifyReceipt(receipt_json, std::nullopt, &rewritten);
  ASSERT_FALSE(caught.ok());
  EXPECT_EQ(caught.errors.back().location, "receipt");

  json forged = receipt_json;
  forged["entry"]["case_reference"] = "C-2";
  EXPECT_FALSE(VerifyReceipt(forged, std::nullopt, nullptr).ok());
}

TEST_F(LedgerTest, DeliveriesAndAcknowledgementsMustReferToANotice) {
  auto notice = ledger_->Append(EntryKind::kDeletionNotice, Notice());
  ASSERT_TRUE(notice.ok()) << notice.error().message;
  auto destroyed = ledger_->Append(EntryKind::kDataDestroyed, Destroyed(1));
  ASSERT_TRUE(destroyed.ok());

  json delivery = {{"notice_index", 0}, {"attempt", 1}, {"url", "https://hostco.example/hook"},
                   {"http_status", 202}, {"error", ""}};
  EXPECT_TRUE(ledger_->Append(EntryKind::kNoticeDelivery, delivery).ok());
  delivery["notice_index"] = 1;  // data_destroyed is not a notice
  EXPECT_FALSE(ledger_->Append(EntryKind::kNoticeDelivery, delivery).ok());
  delivery["notice_index"] = 50;  // not in the log
  EXPECT_FALSE(ledger_->Append(EntryKind::kNoticeDelivery, delivery).ok());

  auto recipient = SigningKey::Generate();
  const Signature good = recipient->Sign(AcknowledgementMessage(notice->leaf_hash));
  json ack = {{"notice_index", 0}, {"recipient_key_id", "hostco-legal"},
              {"recipient_public_key", HexOf(recipient->public_key())}, {"signature", HexOf(good)}};
  auto acked = ledger_->Append(EntryKind::kAcknowledgement, ack);
  ASSERT_TRUE(acked.ok()) << acked.error().message;

  // Signed by someone else, or over the bare leaf hash: refused.
  auto stranger = SigningKey::Generate();
  ack["signature"] = HexOf(stranger->Sign(AcknowledgementMessage(notice->leaf_hash)));
  auto refused = ledger_->Append(EntryKind::kAcknowledgement, ack);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kInvalidArgument);
  ack["signature"] = HexOf(recipient->Sign(notice->leaf_hash));
  EXPECT_FALSE(ledger_->Append(EntryKind::kAcknowledgement, ack).ok());
  EXPECT_EQ(*ledger_->Size(), 4u);
}

}  // namespace
}  // namespace holdfast::ledger
