#include "ledger/entry.h"

#include <limits>

namespace holdfast::ledger {
namespace {

using nlohmann::json;

enum class FieldType {
  kText,          // non-empty string
  kTextOrEmpty,   // string
  kCount,         // integer >= 0
  kSha256Hex,     // 64 lower-case hex digits
  kSignatureHex,  // 128 lower-case hex digits
  kTextList,      // non-empty array of non-empty strings
};

struct FieldSpec {
  const char* name;
  FieldType type;
};

struct KindSpec {
  EntryKind kind;
  const char* name;
  std::vector<FieldSpec> fields;
};

const std::vector<KindSpec>& Kinds() {
  static const std::vector<KindSpec> kinds = {
      {EntryKind::kPreservationRequest,
       "preservation_request",
       {{"document_sha256", FieldType::kSha256Hex},
        {"document_size_bytes", FieldType::kCount},
        {"case_reference", FieldType::kText},
        {"requested_by", FieldType::kText},
        {"scope", FieldType::kTextOrEmpty}}},
      {EntryKind::kHoldPlaced, "hold_placed", {{"hold_id", FieldType::kText}, {"scope", FieldType::kText}}},
      {EntryKind::kHoldReleased, "hold_released", {{"hold_id", FieldType::kText}, {"scope", FieldType::kText}}},
      {EntryKind::kRetentionSet,
       "retention_set",
       {{"bucket", FieldType::kText},
        {"key", FieldType::kText},
        {"version_id", FieldType::kTextOrEmpty},
        {"mode", FieldType::kText},
        {"retain_until_ms", FieldType::kCount}}},
      {EntryKind::kDeletionNotice,
       "deletion_notice",
       {{"scope", FieldType::kText}, {"effective_ms", FieldType::kCount}, {"recipients", FieldType::kTextList}}},
      {EntryKind::kNoticeDelivery,
       "notice_delivery",
       {{"notice_index", FieldType::kCount},
        {"attempt", FieldType::kCount},
        {"url", FieldType::kText},
        {"http_status", FieldType::kCount},
        {"error", FieldType::kTextOrEmpty}}},
      {EntryKind::kAcknowledgement,
       "acknowledgement",
       {{"notice_index", FieldType::kCount},
        {"recipient_key_id", FieldType::kText},
        {"recipient_public_key", FieldType::kSha256Hex},
        {"signature", FieldType::kSignatureHex}}},
      {EntryKind::kRetirementPlanned, "retirement_planned", {{"scope", FieldType::kText}, {"name", FieldType::kText}}},
      {EntryKind::kRetirementExecuted, "retirement_executed", {{"scope", FieldType::kText}, {"name", FieldType::kText}}},
      {EntryKind::kDataDestroyed, "data_destroyed", {{"what", FieldType::kText}, {"reason", FieldType::kText}}},
  };
  return kinds;
}

const KindSpec& SpecOf(EntryKind kind) {
  for (const KindSpec& spec : Kinds()) {
    if (spec.kind == kind) return spec;
  }
  return Kinds().back();  // unreachable: every kind has a spec
}

bool IsLowerHex(const std::string& text, size_t digits) {
  return text.size() == digits && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// Why `value` does not fit `type`, or "" if it does.
std::string TypeMismatch(const json& value, FieldType type) {
  switch (type) {
    case FieldType::kText:
      return value.is_string() && !value.get_ref<const std::string&>().empty() ? "" : "a non-empty string";
    case FieldType::kTextOrEmpty:
      return value.is_string() ? "" : "a string";
    case FieldType::kCount:
      return value.is_number_integer() && (value.is_number_unsigned() || value.get<int64_t>() >= 0)
                 ? ""
                 : "an integer >= 0";
    case FieldType::kSha256Hex:
      return value.is_string() && IsLowerHex(value.get_ref<const std::string&>(), 64)
                 ? ""
                 : "64 lower-case hex digits";
    case FieldType::kSignatureHex:
      return value.is_string() && IsLowerHex(value.get_ref<const std::string&>(), 128)
                 ? ""
                 : "128 lower-case hex digits";
    case FieldType::kTextList: {
      bool ok = value.is_array() && !value.empty();
      for (const json& item : value) ok = ok && item.is_string() && !item.get_ref<const std::string&>().empty();
      return ok ? "" : "a non-empty list of non-empty strings";
    }
  }
  return "valid";
}

// Floats and integers beyond int64 have no single spelling both verifiers
// agree on, so they are refused everywhere in an entry.
Status CheckNumbers(const json& value, const std::string& where) {
  if (value.is_number_float()) {
    return MakeError(Errc::kInvalidArgument, where + " is a fractional number; ledger entries hold only integers");
  }
  if (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t{std::numeric_limits<int64_t>::max()}) {
    return MakeError(Errc::kInvalidArgument, where + " is beyond the signed 64-bit range");
  }
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      Status status = CheckNumbers(item, where + "." + key);
      if (!status) return status;
    }
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) {
      Status status = CheckNumbers(value[i], where + "[" + std::to_string(i) + "]");
      if (!status) return status;
    }
  }
  return Status::Ok();
}

}  // namespace

const char* KindName(EntryKind kind) { return SpecOf(kind).name; }

std::optional<EntryKind> ParseKind(std::string_view name) {
  for (const KindSpec& spec : Kinds()) {
    if (name == spec.name) return spec.kind;
  }
  return std::nullopt;
}

bool IsNoticeKind(EntryKind kind) {
  return kind == EntryKind::kDeletionNotice || kind == EntryKind::kPreservationRequest ||
         kind == EntryKind::kRetirementPlanned;
}

Result<std::string> Canonicalize(const json& value) {
  Status numbers = CheckNumbers(value, "value");
  if (!numbers) return numbers.error();
  try {
    // std::map keeps object keys in byte order; strict UTF-8 checking throws.
    return value.dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::strict);
  } catch (const json::exception& e) {
    return MakeError(Errc::kInvalidArgument, std::string("not valid UTF-8: ") + e.what());
  }
}

Status ValidateFields(EntryKind kind, const json& fields) {
  const KindSpec& spec = SpecOf(kind);
  const std::string prefix = std::string(spec.name) + " entry: ";
  if (!fields.is_object()) return MakeError(Errc::kInvalidArgument, prefix + "fields must be a JSON object");
  for (const char* reserved : kReservedFields) {
    if (fields.contains(reserved)) {
      return MakeError(Errc::kInvalidArgument, prefix + "field '" + reserved + "' is reserved for the ledger");
    }
  }
  for (const FieldSpec& field : spec.fields) {
    if (!fields.contains(field.name)) {
      return MakeError(Errc::kInvalidArgument, prefix + "field '" + field.name + "' is missing");
    }
    const std::string expected = TypeMismatch(fields.at(field.name), field.type);
    if (!expected.empty()) {
      return MakeError(Errc::kInvalidArgument, prefix + "field '" + field.name + "' must be " + expected);
    }
  }
  for (const auto& [key, value] : fields.items()) {
    Status numbers = CheckNumbers(value, prefix + "field '" + key + "'");
    if (!numbers) return numbers;
  }
  auto canonical = Canonicalize(fields);
  if (!canonical) return MakeError(Errc::kInvalidArgument, prefix + canonical.error().message);
  return Status::Ok();
}

json EntryToJson(const Entry& entry) {
  json object = entry.fields.is_object() ? entry.fields : json::object();
  object["index"] = entry.index;
  object["kind"] = KindName(entry.kind);
  object["timestamp_ms"] = entry.timestamp_ms;
  return object;
}

Result<std::string> SerializeEntry(const Entry& entry) {
  Status valid = ValidateFields(entry.kind, entry.fields);
  if (!valid) return valid.error();
  if (entry.index > uint64_t{std::numeric_limits<int64_t>::max()}) {
    return MakeError(Errc::kInvalidArgument, "entry index beyond the signed 64-bit range");
  }
  return Canonicalize(EntryToJson(entry));
}

Result<Entry> ParseEntry(std::string_view bytes) {
  const json object = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (!object.is_object()) return MakeError(Errc::kCorrupt, "not a JSON object");
  auto canonical = Canonicalize(object);
  if (!canonical) return MakeError(Errc::kCorrupt, canonical.error().message);
  if (*canonical != bytes) {
    return MakeError(Errc::kCorrupt, "not in canonical form (sorted keys, no whitespace, minimal escapes)");
  }
  const auto index = object.find("index");
  const auto kind = object.find("kind");
  const auto timestamp = object.find("timestamp_ms");
  if (index == object.end() || !index->is_number_integer() || index->get<int64_t>() < 0) {
    return MakeError(Errc::kCorrupt, "'index' is missing or not an integer >= 0");
  }
  if (kind == object.end() || !kind->is_string()) return MakeError(Errc::kCorrupt, "'kind' is missing");
  if (timestamp == object.end() || !timestamp->is_number_integer()) {
    return MakeError(Errc::kCorrupt, "'timestamp_ms' is missing or not an integer");
  }
  const auto parsed_kind = ParseKind(kind->get<std::string>());
  if (!parsed_kind) return MakeError(Errc::kCorrupt, "unknown kind '" + kind->get<std::string>() + "'");
  Entry entry;
  entry.index = index->get<uint64_t>();
  entry.kind = *parsed_kind;
  entry.timestamp_ms = timestamp->get<int64_t>();
  entry.fields = object;
  for (const char* reserved : kReservedFields) entry.fields.erase(reserved);
  Status valid = ValidateFields(entry.kind, entry.fields);
  if (!valid) return MakeError(Errc::kCorrupt, valid.error().message);
  return entry;
}

std::string AcknowledgementMessage(std::span<const uint8_t> notice_leaf_hash) {
  std::string message = "holdfast-ledger-ack-v1";
  message.push_back('\0');
  message.append(reinterpret_cast<const char*>(notice_leaf_hash.data()), notice_leaf_hash.size());
  return message;
}

}  // namespace holdfast::ledger
