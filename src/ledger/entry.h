// Ledger entries: what the notice ledger records, and their canonical bytes
// (the bytes that are hashed into the Merkle tree). Format: docs/ledger.md.
//
// An entry is one JSON object: "index" (its position in the log, from 0),
// "kind", "timestamp_ms" (the gateway's wall clock when it was appended),
// and the kind's own fields beside them. Its canonical bytes are that
// object serialised with keys sorted by bytes at every level, no whitespace,
// strings as UTF-8 with only '"', '\\' and U+0000..U+001F escaped (\b \t \n
// \f \r by name, the rest as \u00xx in lower-case hex), integers in decimal.
// Floats are not allowed (their spelling is not canonical), nor integers
// outside the signed 64-bit range. Python's json.dumps(obj, sort_keys=True,
// separators=(",", ":"), ensure_ascii=False) produces the same bytes, which
// is how the independent verifier (tools/ledger_verify.py) checks them.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace holdfast::ledger {

// Each kind's required fields (docs/ledger.md has the table). More fields
// may be added by the caller; they are recorded and hashed like the rest.
enum class EntryKind {
  kPreservationRequest,  // document_sha256, document_size_bytes, case_reference, requested_by, scope
  kHoldPlaced,           // hold_id, scope
  kHoldReleased,         // hold_id, scope
  kRetentionSet,         // bucket, key, version_id, mode, retain_until_ms
  kDeletionNotice,       // scope, effective_ms, recipients (non-empty list of strings)
  kNoticeDelivery,       // notice_index, attempt, url, http_status (0 = no answer), error ("" = none)
  kAcknowledgement,      // notice_index, recipient_key_id, recipient_public_key, signature
  kRetirementPlanned,    // scope, name
  kRetirementExecuted,   // scope, name
  kDataDestroyed,        // what, reason
};

// "preservation_request", "hold_placed", ... as stored.
const char* KindName(EntryKind kind);
std::optional<EntryKind> ParseKind(std::string_view name);
// Kinds a notice_delivery or acknowledgement may refer to.
bool IsNoticeKind(EntryKind kind);

// The names every entry has; kind fields must not use them.
inline constexpr const char* kReservedFields[] = {"index", "kind", "timestamp_ms"};

struct Entry {
  uint64_t index = 0;
  EntryKind kind = EntryKind::kDataDestroyed;
  int64_t timestamp_ms = 0;
  nlohmann::json fields = nlohmann::json::object();  // the kind's fields only
};

// kInvalidArgument naming the field when `fields` is not an object, lacks
// a required field or has one of the wrong type, uses a reserved name, or
// holds a float, an out-of-range integer or a string that is not UTF-8.
Status ValidateFields(EntryKind kind, const nlohmann::json& fields);

// The canonical bytes of any JSON value (see above); kInvalidArgument for
// floats, out-of-range integers and invalid UTF-8.
Result<std::string> Canonicalize(const nlohmann::json& value);

// The entry's canonical bytes (validates the fields first).
Result<std::string> SerializeEntry(const Entry& entry);
// The entry as one JSON object (index, kind, timestamp_ms and fields).
nlohmann::json EntryToJson(const Entry& entry);

// Parses canonical entry bytes. kCorrupt, saying what is wrong, if they are
// not a JSON object, not canonical, lack index/kind/timestamp_ms, name an
// unknown kind or fail ValidateFields.
Result<Entry> ParseEntry(std::string_view bytes);

// What an acknowledgement's signature signs: the 22 ASCII bytes
// "holdfast-ledger-ack-v1", a zero byte, then the 32-byte leaf hash of the
// notice entry. The prefix keeps a recipient's key from being tricked
// into signing anything else that happens to be 32 bytes.
std::string AcknowledgementMessage(std::span<const uint8_t> notice_leaf_hash);

}  // namespace holdfast::ledger
