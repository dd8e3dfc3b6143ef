// Object Lock on the wire: the x-amz-object-lock-* headers of writes and
// reads, and the XML of PutObjectLockConfiguration, PutObjectRetention and
// PutObjectLegalHold and their Get twins (S3 API Reference).
#include <algorithm>
#include <charconv>

#include "s3/s3_ops.h"
#include "s3/xml_internal.h"

namespace holdfast::s3 {
namespace {

constexpr int kMaxDefaultDays = 36'500;  // S3's limit: 100 years
constexpr int kMaxDefaultYears = 100;

std::optional<meta::RetentionMode> ParseMode(std::string_view text) {
  if (text == "GOVERNANCE") return meta::RetentionMode::kGovernance;
  if (text == "COMPLIANCE") return meta::RetentionMode::kCompliance;
  return std::nullopt;
}

std::string_view ModeText(meta::RetentionMode mode) {
  return mode == meta::RetentionMode::kCompliance ? "COMPLIANCE" : "GOVERNANCE";
}

S3Error InvalidArgument(std::string message) { return MakeS3Error("InvalidArgument", std::move(message)); }

bool HasText(pugi::xml_node node) {
  return std::any_of(node.children().begin(), node.children().end(), [](pugi::xml_node child) {
    return child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata;
  });
}

// The element children of `parent` by local name; nullopt if a name repeats
// or one is not in `allowed`, or text sits beside them.
std::optional<std::vector<std::pair<std::string_view, pugi::xml_node>>> Children(
    pugi::xml_node parent, std::initializer_list<std::string_view> allowed) {
  if (HasText(parent)) return std::nullopt;
  std::vector<std::pair<std::string_view, pugi::xml_node>> out;
  for (pugi::xml_node child : parent.children()) {
    if (child.type() != pugi::node_element) continue;
    std::string_view name = LocalName(child.name());
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) return std::nullopt;
    for (const auto& seen : out) {
      if (seen.first == name) return std::nullopt;
    }
    out.emplace_back(name, child);
  }
  return out;
}

std::variant<int, S3Error> ParsePeriod(std::string_view text, int max) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value <= 0) {
    return InvalidArgument("Default retention period must be a positive integer value");
  }
  if (value > max) return InvalidArgument("Default retention period is too large");
  return value;
}

std::variant<meta::DefaultRetention, S3Error> ParseDefaultRetention(pugi::xml_node node) {
  auto children = Children(node, {"Mode", "Days", "Years"});
  if (!children) return MalformedXml();
  meta::DefaultRetention out;
  std::optional<std::string_view> days, years;
  for (const auto& [name, child] : *children) {
    std::string_view text = child.text().as_string();
    if (name == "Mode") {
      auto mode = ParseMode(text);
      if (!mode) return MalformedXml();
      out.mode = *mode;
    } else if (name == "Days") {
      days = text;
    } else {
      years = text;
    }
  }
  // Both a mode and exactly one period (S3: MalformedXML otherwise).
  if (out.mode == meta::RetentionMode::kNone || days.has_value() == years.has_value()) return MalformedXml();
  auto period = days ? ParsePeriod(*days, kMaxDefaultDays) : ParsePeriod(*years, kMaxDefaultYears);
  if (auto* error = std::get_if<S3Error>(&period)) return *error;
  (days ? out.days : out.years) = std::get<int>(period);
  return out;
}

}  // namespace

std::variant<meta::ObjectLock, S3Error> ParseObjectLockHeaders(const net::Headers& headers,
                                                               int64_t now_unix_ms) {
  meta::ObjectLock lock;
  auto mode = headers.Get("x-amz-object-lock-mode");
  auto until = headers.Get("x-amz-object-lock-retain-until-date");
  if (mode.has_value() != until.has_value()) {
    return InvalidArgument("x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied");
  }
  if (mode) {
    auto parsed_mode = ParseMode(*mode);
    if (!parsed_mode) return InvalidArgument("Unknown wormMode directive.");
    auto parsed_until = ParseIsoDate(*until);
    if (!parsed_until) {
      return InvalidArgument("The retain until date must be an ISO 8601 date and time, e.g. 2030-01-01T00:00:00Z");
    }
    if (*parsed_until <= now_unix_ms) return InvalidArgument("The retain until date must be in the future!");
    lock.mode = *parsed_mode;
    lock.retain_until_unix_ms = *parsed_until;
  }
  if (auto hold = headers.Get("x-amz-object-lock-legal-hold")) {
    if (*hold == "ON") {
      lock.legal_hold = meta::LegalHold::kOn;
    } else if (*hold == "OFF") {
      lock.legal_hold = meta::LegalHold::kOff;
    } else {
      return InvalidArgument("Legal Hold must be either of 'ON' or 'OFF'");
    }
  }
  return lock;
}

void AddObjectLockHeaders(const meta::ObjectLock& lock, net::Headers* headers) {
  if (lock.mode != meta::RetentionMode::kNone) {
    headers->Set("x-amz-object-lock-mode", std::string(ModeText(lock.mode)));
    headers->Set("x-amz-object-lock-retain-until-date", IsoDate(lock.retain_until_unix_ms));
  }
  if (lock.legal_hold != meta::LegalHold::kNone) {
    headers->Set("x-amz-object-lock-legal-hold", lock.legal_hold == meta::LegalHold::kOn ? "ON" : "OFF");
  }
}

std::variant<meta::DefaultRetention, S3Error> ParseObjectLockConfiguration(std::string_view body) {
  pugi::xml_document document;
  pugi::xml_node root = ParseRoot(body, "ObjectLockConfiguration", &document);
  if (!root) return MalformedXml();
  auto children = Children(root, {"ObjectLockEnabled", "Rule"});
  if (!children) return MalformedXml();
  bool enabled = false;
  meta::DefaultRetention out;
  for (const auto& [name, child] : *children) {
    if (name == "ObjectLockEnabled") {
      if (std::string_view(child.text().as_string()) != "Enabled") return MalformedXml();
      enabled = true;
      continue;
    }
    auto rule = Children(child, {"DefaultRetention"});
    if (!rule || rule->size() != 1) return MalformedXml();
    auto retention = ParseDefaultRetention(rule->front().second);
    if (auto* error = std::get_if<S3Error>(&retention)) return *error;
    out = std::get<meta::DefaultRetention>(retention);
  }
  if (!enabled) return MalformedXml();
  return out;
}

std::string RenderObjectLockConfiguration(const meta::DefaultRetention& default_retention) {
  std::string out = OpenDocument("ObjectLockConfiguration");
  AppendElement(&out, "ObjectLockEnabled", "Enabled");
  if (default_retention.mode != meta::RetentionMode::kNone) {
    out += "<Rule><DefaultRetention>";
    AppendElement(&out, "Mode", ModeText(default_retention.mode));
    if (default_retention.days > 0) AppendElement(&out, "Days", std::to_string(default_retention.days));
    if (default_retention.years > 0) AppendElement(&out, "Years", std::to_string(default_retention.years));
    out += "</DefaultRetention></Rule>";
  }
  return out + "</ObjectLockConfiguration>";
}

std::variant<meta::ObjectLock, S3Error> ParseRetention(std::string_view body) {
  pugi::xml_document document;
  pugi::xml_node root = ParseRoot(body, "Retention", &document);
  if (!root) return MalformedXml();
  auto children = Children(root, {"Mode", "RetainUntilDate"});
  if (!children) return MalformedXml();
  meta::ObjectLock out;
  bool has_date = false;
  for (const auto& [name, child] : *children) {
    std::string_view text = child.text().as_string();
    if (name == "Mode") {
      auto mode = ParseMode(text);
      if (!mode) return MalformedXml();
      out.mode = *mode;
    } else {
      auto until = ParseIsoDate(text);
      if (!until) return MalformedXml();
      out.retain_until_unix_ms = *until;
      has_date = true;
    }
  }
  if ((out.mode != meta::RetentionMode::kNone) != has_date) return MalformedXml();
  return out;
}

std::string RenderRetention(const meta::ObjectLock& lock) {
  std::string out = OpenDocument("Retention");
  AppendElement(&out, "Mode", ModeText(lock.mode));
  AppendElement(&out, "RetainUntilDate", IsoDate(lock.retain_until_unix_ms));
  return out + "</Retention>";
}

std::variant<bool, S3Error> ParseLegalHold(std::string_view body) {
  pugi::xml_document document;
  pugi::xml_node root = ParseRoot(body, "LegalHold", &document);
  if (!root) return MalformedXml();
  auto children = Children(root, {"Status"});
  if (!children || children->size() != 1) return MalformedXml();
  std::string_view status = children->front().second.text().as_string();
  if (status == "ON") return true;
  if (status == "OFF") return false;
  return MalformedXml();
}

std::string RenderLegalHold(bool on) {
  std::string out = OpenDocument("LegalHold");
  AppendElement(&out, "Status", on ? "ON" : "OFF");
  return out + "</LegalHold>";
}

}  // namespace holdfast::s3
