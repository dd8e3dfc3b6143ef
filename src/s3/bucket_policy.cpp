// Bucket policies: parsing with AWS's validation, and evaluation.
#include "s3/bucket_policy.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

#include "s3/internal.h"

namespace holdfast::s3 {
namespace {

using Json = nlohmann::json;

enum class ActionKind { kBucket, kObject };

struct KnownAction {
  std::string_view name;  // lower-case
  ActionKind kind;
};

// S3 actions a bucket policy may name (AWS's list for bucket and object
// resources). Only some are enforced by Holdfast (docs/s3-compatibility.md);
// the others are accepted so that policies written for AWS load, and name
// operations Holdfast keeps to the bucket owner.
constexpr std::array kKnownActions = {
    // Object resources.
    KnownAction{"s3:abortmultipartupload", ActionKind::kObject},
    KnownAction{"s3:bypassgovernanceretention", ActionKind::kObject},
    KnownAction{"s3:deleteobject", ActionKind::kObject},
    KnownAction{"s3:deleteobjecttagging", ActionKind::kObject},
    KnownAction{"s3:deleteobjectversion", ActionKind::kObject},
    KnownAction{"s3:deleteobjectversiontagging", ActionKind::kObject},
    KnownAction{"s3:getobject", ActionKind::kObject},
    KnownAction{"s3:getobjectacl", ActionKind::kObject},
    KnownAction{"s3:getobjectattributes", ActionKind::kObject},
    KnownAction{"s3:getobjectlegalhold", ActionKind::kObject},
    KnownAction{"s3:getobjectretention", ActionKind::kObject},
    KnownAction{"s3:getobjecttagging", ActionKind::kObject},
    KnownAction{"s3:getobjecttorrent", ActionKind::kObject},
    KnownAction{"s3:getobjectversion", ActionKind::kObject},
    KnownAction{"s3:getobjectversionacl", ActionKind::kObject},
    KnownAction{"s3:getobjectversionattributes", ActionKind::kObject},
    KnownAction{"s3:getobjectversionforreplication", ActionKind::kObject},
    KnownAction{"s3:getobjectversiontagging", ActionKind::kObject},
    KnownAction{"s3:getobjectversiontorrent", ActionKind::kObject},
    KnownAction{"s3:listmultipartuploadparts", ActionKind::kObject},
    KnownAction{"s3:putobject", ActionKind::kObject},
    KnownAction{"s3:putobjectacl", ActionKind::kObject},
    KnownAction{"s3:putobjectlegalhold", ActionKind::kObject},
    KnownAction{"s3:putobjectretention", ActionKind::kObject},
    KnownAction{"s3:putobjecttagging", ActionKind::kObject},
    KnownAction{"s3:putobjectversionacl", ActionKind::kObject},
    KnownAction{"s3:putobjectversiontagging", ActionKind::kObject},
    KnownAction{"s3:replicatedelete", ActionKind::kObject},
    KnownAction{"s3:replicateobject", ActionKind::kObject},
    KnownAction{"s3:replicatetags", ActionKind::kObject},
    KnownAction{"s3:restoreobject", ActionKind::kObject},
    // Bucket resources.
    KnownAction{"s3:deletebucket", ActionKind::kBucket},
    KnownAction{"s3:deletebucketpolicy", ActionKind::kBucket},
    KnownAction{"s3:deletebucketwebsite", ActionKind::kBucket},
    KnownAction{"s3:getbucketacl", ActionKind::kBucket},
    KnownAction{"s3:getbucketcors", ActionKind::kBucket},
    KnownAction{"s3:getbucketlocation", ActionKind::kBucket},
    KnownAction{"s3:getbucketlogging", ActionKind::kBucket},
    KnownAction{"s3:getbucketnotification", ActionKind::kBucket},
    KnownAction{"s3:getbucketobjectlockconfiguration", ActionKind::kBucket},
    KnownAction{"s3:getbucketownershipcontrols", ActionKind::kBucket},
    KnownAction{"s3:getbucketpolicy", ActionKind::kBucket},
    KnownAction{"s3:getbucketpolicystatus", ActionKind::kBucket},
    KnownAction{"s3:getbucketpublicaccessblock", ActionKind::kBucket},
    KnownAction{"s3:getbucketrequestpayment", ActionKind::kBucket},
    KnownAction{"s3:getbuckettagging", ActionKind::kBucket},
    KnownAction{"s3:getbucketversioning", ActionKind::kBucket},
    KnownAction{"s3:getbucketwebsite", ActionKind::kBucket},
    KnownAction{"s3:getencryptionconfiguration", ActionKind::kBucket},
    KnownAction{"s3:getlifecycleconfiguration", ActionKind::kBucket},
    KnownAction{"s3:getreplicationconfiguration", ActionKind::kBucket},
    KnownAction{"s3:listbucket", ActionKind::kBucket},
    KnownAction{"s3:listbucketmultipartuploads", ActionKind::kBucket},
    KnownAction{"s3:listbucketversions", ActionKind::kBucket},
    KnownAction{"s3:putbucketacl", ActionKind::kBucket},
    KnownAction{"s3:putbucketcors", ActionKind::kBucket},
    KnownAction{"s3:putbucketlogging", ActionKind::kBucket},
    KnownAction{"s3:putbucketnotification", ActionKind::kBucket},
    KnownAction{"s3:putbucketobjectlockconfiguration", ActionKind::kBucket},
    KnownAction{"s3:putbucketownershipcontrols", ActionKind::kBucket},
    KnownAction{"s3:putbucketpolicy", ActionKind::kBucket},
    KnownAction{"s3:putbucketpublicaccessblock", ActionKind::kBucket},
    KnownAction{"s3:putbucketrequestpayment", ActionKind::kBucket},
    KnownAction{"s3:putbuckettagging", ActionKind::kBucket},
    KnownAction{"s3:putbucketversioning", ActionKind::kBucket},
    KnownAction{"s3:putbucketwebsite", ActionKind::kBucket},
    KnownAction{"s3:putencryptionconfiguration", ActionKind::kBucket},
    KnownAction{"s3:putlifecycleconfiguration", ActionKind::kBucket},
    KnownAction{"s3:putreplicationconfiguration", ActionKind::kBucket},
};

constexpr std::string_view kS3ArnPrefix = "arn:aws:s3:::";

S3Error Malformed(std::string message) { return MakeS3Error("MalformedPolicy", std::move(message)); }

// The rule users.cpp applies to user names.
bool IsUserName(std::string_view name) {
  if (name.empty() || name.size() > 64 || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") == std::string_view::npos;
}

// A string or a non-empty list of strings, as IAM writes most elements.
std::variant<std::vector<std::string>, S3Error> StringList(const Json& value, std::string_view field) {
  std::vector<std::string> out;
  if (value.is_string()) {
    out.push_back(value.get<std::string>());
    return out;
  }
  if (value.is_array() && !value.empty()) {
    for (const Json& item : value) {
      if (!item.is_string()) return Malformed(std::string(field) + " must hold strings only");
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  return Malformed(std::string(field) + " must be a string or a non-empty list of strings");
}

std::optional<S3Error> ParsePrincipal(const Json& value, PolicyStatement* out) {
  if (value.is_string()) {
    if (value.get<std::string>() != "*") return Malformed("Invalid principal in policy: use \"*\" or {\"AWS\": ...}");
    out->any_principal = true;
    return std::nullopt;
  }
  if (!value.is_object() || value.size() != 1 || !value.contains("AWS")) {
    return Malformed("Invalid principal in policy: Holdfast knows only {\"AWS\": \"" +
                     std::string(kUserArnPrefix) + "NAME\" or \"NAME\" or \"*\"}");
  }
  auto listed = StringList(value.at("AWS"), "Principal.AWS");
  if (auto* error = std::get_if<S3Error>(&listed)) return *error;
  for (const std::string& principal : std::get<std::vector<std::string>>(listed)) {
    if (principal == "*") {
      out->any_principal = true;
      continue;
    }
    std::string_view name = principal;
    if (name.starts_with(kUserArnPrefix)) name.remove_prefix(kUserArnPrefix.size());
    if (!IsUserName(name)) {
      return Malformed("Invalid principal in policy: " + principal + " (expected " + std::string(kUserArnPrefix) +
                       "NAME or a user name)");
    }
    out->users.emplace_back(name);
  }
  return std::nullopt;
}

// The known actions `pattern` (lower-case) names.
std::vector<const KnownAction*> ActionsMatching(std::string_view pattern) {
  std::vector<const KnownAction*> out;
  for (const KnownAction& action : kKnownActions) {
    if (WildcardMatch(pattern, action.name)) out.push_back(&action);
  }
  return out;
}

std::optional<S3Error> ParseActions(const Json& value, PolicyStatement* out) {
  auto listed = StringList(value, "Action");
  if (auto* error = std::get_if<S3Error>(&listed)) return *error;
  for (const std::string& action : std::get<std::vector<std::string>>(listed)) {
    std::string lower = AsciiLower(action);
    if (lower == "*") lower = "s3:*";  // IAM's "every action"; for a bucket, every s3 one
    if (!lower.starts_with("s3:") || ActionsMatching(lower).empty()) {
      return Malformed("Policy has invalid action: " + action);
    }
    out->actions.push_back(std::move(lower));
  }
  return std::nullopt;
}

std::optional<S3Error> ParseResources(const Json& value, std::string_view bucket, PolicyStatement* out) {
  auto listed = StringList(value, "Resource");
  if (auto* error = std::get_if<S3Error>(&listed)) return *error;
  for (const std::string& resource : std::get<std::vector<std::string>>(listed)) {
    std::string_view rest = resource;
    bool ok = rest.starts_with(kS3ArnPrefix);
    if (ok) {
      rest.remove_prefix(kS3ArnPrefix.size());
      // The bucket part must name this bucket (wildcards allowed, as AWS).
      ok = WildcardMatch(rest.substr(0, rest.find('/')), bucket);
    }
    if (!ok) {
      return Malformed("Policy has invalid resource: " + resource + " (resources are arn:aws:s3:::" +
                       std::string(bucket) + " or arn:aws:s3:::" + std::string(bucket) + "/KEY-PATTERN)");
    }
    out->resources.push_back(resource);
  }
  return std::nullopt;
}

// AWS refuses a statement none of whose actions fits any of its resources
// (an object action on the bucket ARN alone, say): it could never apply.
bool SomeActionFitsSomeResource(const PolicyStatement& statement) {
  for (const std::string& pattern : statement.actions) {
    for (const KnownAction* action : ActionsMatching(pattern)) {
      for (const std::string& resource : statement.resources) {
        // A '*' in the bucket part may also reach past a '/'.
        bool object_resource = resource.find('/') != std::string::npos ||
                               resource.find('*', kS3ArnPrefix.size()) != std::string::npos;
        bool bucket_resource = resource.find('/') == std::string::npos;
        if (action->kind == ActionKind::kObject ? object_resource : bucket_resource) return true;
      }
    }
  }
  return false;
}

std::variant<PolicyStatement, S3Error> ParseStatement(const Json& value, std::string_view bucket) {
  if (!value.is_object()) return Malformed("Each statement must be a JSON object");
  PolicyStatement statement;
  for (const auto& [field, item] : value.items()) {
    if (field == "Sid") {
      if (!item.is_string()) return Malformed("Sid must be a string");
      statement.sid = item.get<std::string>();
    } else if (field == "Effect") {
      std::string effect = item.is_string() ? item.get<std::string>() : "";
      if (effect != "Allow" && effect != "Deny") return Malformed("Invalid effect: " + item.dump() + " (Allow or Deny)");
      statement.allow = effect == "Allow";
    } else if (field == "Principal") {
      if (auto error = ParsePrincipal(item, &statement)) return *error;
    } else if (field == "Action") {
      if (auto error = ParseActions(item, &statement)) return *error;
    } else if (field == "Resource") {
      if (auto error = ParseResources(item, bucket, &statement)) return *error;
    } else if (field == "Condition" || field == "NotPrincipal" || field == "NotAction" || field == "NotResource") {
      return Malformed(field + " is not supported by Holdfast; a policy that relies on it is refused rather than "
                               "applied without it");
    } else {
      return Malformed("Unknown field " + field + " in statement");
    }
  }
  for (std::string_view required : {"Effect", "Principal", "Action", "Resource"}) {
    if (!value.contains(std::string(required))) return Malformed("Missing required field " + std::string(required));
  }
  if (!SomeActionFitsSomeResource(statement)) {
    return Malformed("Action does not apply to any resource(s) in statement" +
                     (statement.sid.empty() ? std::string() : " " + statement.sid));
  }
  return statement;
}

}  // namespace

bool WildcardMatch(std::string_view pattern, std::string_view text) {
  // Greedy matching with one backtrack point (the last '*'): linear in
  // practice, O(pattern x text) at worst.
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string BucketArn(std::string_view bucket) { return std::string(kS3ArnPrefix) + std::string(bucket); }

std::string ObjectArn(std::string_view bucket, std::string_view key) {
  return BucketArn(bucket) + "/" + std::string(key);
}

std::variant<BucketPolicy, S3Error> ParseBucketPolicy(std::string_view json, std::string_view bucket) {
  if (json.size() > kMaxBucketPolicyBytes) {
    return Malformed("Policies must be less than " + std::to_string(kMaxBucketPolicyBytes / 1024) + " KB");
  }
  Json document = Json::parse(json, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) {
    return Malformed("Policies must be valid JSON and the first byte must be '{'");
  }
  BucketPolicy policy;
  for (const auto& [field, value] : document.items()) {
    if (field == "Version") {
      if (!value.is_string() || (value != "2012-10-17" && value != "2008-10-17")) {
        return Malformed("The policy must contain a valid version string (2012-10-17 or 2008-10-17)");
      }
    } else if (field == "Id") {
      if (!value.is_string()) return Malformed("Id must be a string");
    } else if (field == "Statement") {
      // One statement may stand alone or in a list.
      const Json list = value.is_array() ? value : Json::array({value});
      for (const Json& item : list) {
        auto statement = ParseStatement(item, bucket);
        if (auto* error = std::get_if<S3Error>(&statement)) return *error;
        policy.statements.push_back(std::move(std::get<PolicyStatement>(statement)));
      }
    } else {
      return Malformed("Unknown field " + field);
    }
  }
  if (policy.statements.empty()) return Malformed("Missing required field Statement");
  return policy;
}

PolicyDecision EvaluateBucketPolicy(const BucketPolicy& policy, std::string_view user_id,
                                    std::string_view action, std::string_view resource_arn) {
  const std::string lower_action = AsciiLower(action);
  PolicyDecision decision = PolicyDecision::kNone;
  for (const PolicyStatement& statement : policy.statements) {
    bool principal = statement.any_principal ||
                     (!user_id.empty() &&
                      std::find(statement.users.begin(), statement.users.end(), user_id) != statement.users.end());
    if (!principal) continue;
    bool acts = std::any_of(statement.actions.begin(), statement.actions.end(),
                            [&](const std::string& pattern) { return WildcardMatch(pattern, lower_action); });
    if (!acts) continue;
    bool applies = std::any_of(statement.resources.begin(), statement.resources.end(),
                               [&](const std::string& pattern) { return WildcardMatch(pattern, resource_arn); });
    if (!applies) continue;
    if (!statement.allow) return PolicyDecision::kDeny;  // explicit Deny wins outright
    decision = PolicyDecision::kAllow;
  }
  return decision;
}

}  // namespace holdfast::s3
