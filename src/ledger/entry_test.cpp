#include "ledger/entry.h"

#include <gtest/gtest.h>

namespace holdfast::ledger {
namespace {

using nlohmann::json;

json PreservationFields() {
  return {{"document_sha256", std::string(64, 'a')},
          {"document_size_bytes", 12},
          {"case_reference", "Case 1:24-cv-0042"},
          {"requested_by", "Counsel <counsel@example.org>"},
          {"scope", "all accounts of customer 17"}};
}

TEST(Entry, CanonicalBytesAreSortedCompactAndMinimallyEscaped) {
  Entry entry{7, EntryKind::kPreservationRequest, 1700000000123, PreservationFields()};
  entry.fields["scope"] = "tab\there \"quoted\" back\\slash \x01 caf\xc3\xa9 /";
  auto bytes = SerializeEntry(entry);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  EXPECT_EQ(*bytes,
            R"({"case_reference":"Case 1:24-cv-0042","document_sha256":")" + std::string(64, 'a') +
                R"(","document_size_bytes":12,"index":7,"kind":"preservation_request",)"
                R"("requested_by":"Counsel <counsel@example.org>",)"
                R"("scope":"tab\there \"quoted\" back\\slash \u0001 café /","timestamp_ms":1700000000123})");
  auto parsed = ParseEntry(*bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->index, 7u);
  EXPECT_EQ(parsed->kind, EntryKind::kPreservationRequest);
  EXPECT_EQ(parsed->timestamp_ms, 1700000000123);
  EXPECT_EQ(parsed->fields, entry.fields);
}

TEST(Entry, NonCanonicalSpellingsOfTheSameEntryAreRefused) {
  Entry entry{0, EntryKind::kDataDestroyed, 5, {{"what", "bucket b"}, {"reason", "owner's request"}}};
  const std::string bytes = *SerializeEntry(entry);
  ASSERT_TRUE(ParseEntry(bytes).ok());
  for (const std::string& variant : {
           std::string(R"({"index":0, "kind":"data_destroyed","reason":"owner's request","timestamp_ms":5,"what":"bucket b"})"),
           std::string(R"({"kind":"data_destroyed","index":0,"reason":"owner's request","timestamp_ms":5,"what":"bucket b"})"),
           std::string(R"({"index":0,"kind":"data_destroyed","reason":"owner\u0027s request","timestamp_ms":5,"what":"bucket b"})"),
           std::string(R"({"index":0,"index":0,"kind":"data_destroyed","reason":"owner's request","timestamp_ms":5,"what":"bucket b"})"),
           bytes + "\n",
       }) {
    auto parsed = ParseEntry(variant);
    ASSERT_FALSE(parsed.ok()) << variant;
    EXPECT_EQ(parsed.error().code, Errc::kCorrupt);
  }
}

TEST(Entry, FieldsAreCheckedPerKind) {
  EXPECT_TRUE(ValidateFields(EntryKind::kPreservationRequest, PreservationFields()).ok());
  json missing = PreservationFields();
  missing.erase("case_reference");
  Status status = ValidateFields(EntryKind::kPreservationRequest, missing);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("case_reference"), std::string::npos);

  json bad_hash = PreservationFields();
  bad_hash["document_sha256"] = std::string(64, 'A');  // upper case is not canonical
  EXPECT_FALSE(ValidateFields(EntryKind::kPreservationRequest, bad_hash).ok());
  json reserved = PreservationFields();
  reserved["index"] = 3;
  EXPECT_FALSE(ValidateFields(EntryKind::kPreservationRequest, reserved).ok());
  json fractional = PreservationFields();
  fractional["extra"] = {{"nested", 1.5}};
  EXPECT_FALSE(ValidateFields(EntryKind::kPreservationRequest, fractional).ok());
  json huge = PreservationFields();
  huge["extra"] = uint64_t{1} << 63;
  EXPECT_FALSE(ValidateFields(EntryKind::kPreservationRequest, huge).ok());
  json not_utf8 = PreservationFields();
  not_utf8["scope"] = std::string("\xff\xfe");
  EXPECT_FALSE(ValidateFields(EntryKind::kPreservationRequest, not_utf8).ok());
  // Extra fields are recorded like the rest.
  json extra = PreservationFields();
  extra["received_via"] = "admin API";
  EXPECT_TRUE(ValidateFields(EntryKind::kPreservationRequest, extra).ok());

  EXPECT_FALSE(ValidateFields(EntryKind::kDeletionNotice, {{"scope", "provider:a"}, {"effective_ms", 5},
                                                           {"recipients", json::array()}})
                   .ok());
  EXPECT_TRUE(ValidateFields(EntryKind::kDeletionNotice, {{"scope", "provider:a"}, {"effective_ms", 5},
                                                          {"recipients", {"ops@host.example"}}})
                  .ok());
  EXPECT_FALSE(ValidateFields(EntryKind::kNoticeDelivery, {{"notice_index", -1}, {"attempt", 1}, {"url", "u"},
                                                           {"http_status", 200}, {"error", ""}})
                   .ok());
}

TEST(Entry, KindNamesRoundTrip) {
  for (EntryKind kind : {EntryKind::kPreservationRequest, EntryKind::kHoldPlaced, EntryKind::kHoldReleased,
                         EntryKind::kRetentionSet, EntryKind::kDeletionNotice, EntryKind::kNoticeDelivery,
                         EntryKind::kAcknowledgement, EntryKind::kRetirementPlanned,
                         EntryKind::kRetirementExecuted, EntryKind::kDataDestroyed}) {
    EXPECT_EQ(ParseKind(KindName(kind)), kind) << KindName(kind);
  }
  EXPECT_FALSE(ParseKind("hold").has_value());
  EXPECT_FALSE(ParseEntry(R"({"index":0,"kind":"hold","timestamp_ms":1})").ok());
}

TEST(Entry, AcknowledgementMessageIsPrefixedLeafHash) {
  const uint8_t leaf[32] = {1, 2, 3};
  const std::string message = AcknowledgementMessage(leaf);
  ASSERT_EQ(message.size(), 22u + 1u + 32u);
  EXPECT_EQ(message.substr(0, 23), std::string("holdfast-ledger-ack-v1") + '\0');
  EXPECT_EQ(message[23], 1);
}

}  // namespace
}  // namespace holdfast::ledger
