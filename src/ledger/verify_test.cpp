// Offline verification of an export: a good log verifies, and each way of
// tampering with it fails and names the place.
#include "ledger/verify.h"

#include <gtest/gtest.h>

#include "ledger/entry.h"

namespace holdfast::ledger {
namespace {

using nlohmann::json;

std::vector<std::string> Locations(const VerifyReport& report) {
  std::vector<std::string> out;
  for (const Finding& finding : report.errors) out.push_back(finding.location);
  return out;
}

// Eight entries, a signed head after each (as receipts make them).
class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = std::make_unique<SigningKey>(*SigningKey::Generate());
    log_.public_key = key_->public_key();
    MemoryTree tree;
    Hash previous{};
    for (uint64_t i = 0; i < 8; ++i) {
      Entry entry{i, EntryKind::kDataDestroyed, 1000 + static_cast<int64_t>(i),
                  {{"what", "object " + std::to_string(i)}, {"reason", "expired"}}};
      log_.entry_lines.push_back(*SerializeEntry(entry));
      tree.Append(LeafHash(log_.entry_lines.back()));
      const TreeHead head = SignTreeHead(*key_, i + 1, 2000 + static_cast<int64_t>(i), *tree.Root(i + 1), previous);
      previous = TreeHeadHash(head);
      log_.head_lines.push_back(TreeHeadToJson(head).dump());
    }
  }
  std::unique_ptr<SigningKey> key_;
  ExportedLog log_;
};

TEST_F(VerifyTest, AnUntouchedLogVerifiesWithProofs) {
  VerifyReport report = VerifyLog(log_, {3, std::make_pair(uint64_t{2}, uint64_t{7})});
  EXPECT_TRUE(report.ok()) << ReportToText(report);
  EXPECT_EQ(report.entries, 8u);
  EXPECT_EQ(report.latest_valid_head->tree_size, 8u);
  EXPECT_EQ(report.inclusion["tree_size"], 8);
  EXPECT_EQ(report.consistency["proof"].size(), 2u);  // MTH(D[2:4]), MTH(D[4:7])
}

TEST_F(VerifyTest, AnEditedEntryIsPinpointedByTheHeadsAroundIt) {
  json entry = json::parse(log_.entry_lines[5]);
  entry["what"] = "something else";
  log_.entry_lines[5] = entry.dump();  // still canonical, still index 5
  VerifyReport report = VerifyLog(log_, {});
  EXPECT_EQ(Locations(report), (std::vector<std::string>{"tree_head 5", "tree_head 6", "tree_head 7"}));
  EXPECT_NE(report.errors[0].message.find("among 5..5"), std::string::npos) << report.errors[0].message;
  EXPECT_EQ(report.latest_valid_head->tree_size, 5u);
}

TEST_F(VerifyTest, RemovedSwappedAndTruncatedEntriesAreNamed) {
  ExportedLog removed = log_;
  removed.entry_lines.erase(removed.entry_lines.begin() + 6);
  EXPECT_EQ(Locations(VerifyLog(removed, {})),
            (std::vector<std::string>{"entry 6", "tree_head 6", "tree_head 7"}));

  ExportedLog swapped = log_;
  std::swap(swapped.entry_lines[2], swapped.entry_lines[3]);
  EXPECT_EQ(Locations(VerifyLog(swapped, {})),
            (std::vector<std::string>{"entry 2", "entry 3", "tree_head 2", "tree_head 3", "tree_head 4",
                                      "tree_head 5", "tree_head 6", "tree_head 7"}));

  ExportedLog truncated = log_;
  truncated.entry_lines.resize(6);
  VerifyReport report = VerifyLog(truncated, {});
  EXPECT_EQ(Locations(report), (std::vector<std::string>{"tree_head 6", "tree_head 7"}));
  EXPECT_NE(report.errors[0].message.find("holds only 6"), std::string::npos);
}

TEST_F(VerifyTest, EditedReorderedOrForeignTreeHeadsAreNamed) {
  ExportedLog edited = log_;
  json head = json::parse(edited.head_lines[4]);
  head["timestamp_ms"] = 1;
  edited.head_lines[4] = head.dump();
  // Its signature fails, and the next head no longer follows it.
  EXPECT_EQ(Locations(VerifyLog(edited, {})), (std::vector<std::string>{"tree_head 4", "tree_head 5"}));

  ExportedLog bad_signature = log_;
  head = json::parse(bad_signature.head_lines[1]);
  std::string signature = head["signature"];
  signature[0] = signature[0] == '0' ? '1' : '0';
  head["signature"] = signature;
  bad_signature.head_lines[1] = head.dump();
  EXPECT_EQ(Locations(VerifyLog(bad_signature, {})), (std::vector<std::string>{"tree_head 1"}));

  ExportedLog reordered = log_;
  std::swap(reordered.head_lines[6], reordered.head_lines[7]);
  EXPECT_EQ(Locations(VerifyLog(reordered, {})), (std::vector<std::string>{"tree_head 6", "tree_head 7"}));

  ExportedLog removed = log_;
  removed.head_lines.erase(removed.head_lines.begin() + 3);
  VerifyReport report = VerifyLog(removed, {});
  EXPECT_EQ(Locations(report), (std::vector<std::string>{"tree_head 3"}));
  EXPECT_NE(report.errors[0].message.find("does not follow tree_head 2"), std::string::npos);
  ExportedLog removed_first = log_;
  removed_first.head_lines.erase(removed_first.head_lines.begin());
  EXPECT_EQ(Locations(VerifyLog(removed_first, {})), (std::vector<std::string>{"tree_head 0"}));

  ExportedLog foreign = log_;
  foreign.public_key = SigningKey::Generate()->public_key();
  EXPECT_EQ(VerifyLog(foreign, {}).errors.size(), 8u);
}

TEST_F(VerifyTest, ProofRequestsBeyondTheLogFail) {
  EXPECT_EQ(Locations(VerifyLog(log_, {8, std::nullopt})), (std::vector<std::string>{"inclusion 8"}));
  EXPECT_EQ(Locations(VerifyLog(log_, {std::nullopt, std::make_pair(uint64_t{3}, uint64_t{9})})),
            (std::vector<std::string>{"consistency 3 9"}));
}

TEST(VerifyLines, SplitLinesTreatsAFinalNewlineAsATerminator) {
  EXPECT_EQ(SplitLines(""), std::vector<std::string>{});
  EXPECT_EQ(SplitLines("a\nb\n"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(SplitLines("a\n\nb"), (std::vector<std::string>{"a", "", "b"}));
}

}  // namespace
}  // namespace holdfast::ledger
