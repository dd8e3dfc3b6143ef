// S3 bucket policies: the subset Holdfast parses and evaluates
// (docs/s3-compatibility.md lists it with the decisions taken).
//
// A policy is JSON: {"Version": "2012-10-17", "Statement": [ ... ]}, each
// statement with Sid (optional), Effect (Allow | Deny), Principal, Action and
// Resource. Principal is "*" (everyone, unsigned requests included),
// {"AWS": "*"}, or {"AWS": P | [P, ...]} where P is a Holdfast user as
// "arn:aws:iam::holdfast:user/NAME" or as the bare user name NAME. Actions
// are "s3:<Name>" (case-insensitive, '*' and '?' wildcards: "s3:*",
// "s3:Get*"); resources are "arn:aws:s3:::BUCKET" or
// "arn:aws:s3:::BUCKET/KEY-PATTERN" (case-sensitive, same wildcards) and
// must name the policy's own bucket. Condition, NotPrincipal, NotAction and
// NotResource are refused (MalformedPolicy) rather than ignored: ignoring a
// condition would grant more than its author meant.
//
// Evaluation follows AWS: an explicit Deny in any matching statement wins,
// then an Allow; otherwise the policy says nothing (the gateway then allows
// only the bucket owner).
//
// Pure and thread-safe; a parsed BucketPolicy is immutable.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "s3/s3.h"

namespace holdfast::s3 {

inline constexpr size_t kMaxBucketPolicyBytes = 20 * 1024;  // AWS's limit
// The account part of the user ARNs Holdfast accepts and prints.
inline constexpr std::string_view kUserArnPrefix = "arn:aws:iam::holdfast:user/";

struct PolicyStatement {
  std::string sid;
  bool allow = true;                // Effect
  bool any_principal = false;       // "*" or {"AWS": "*"}
  std::vector<std::string> users;   // user names (ARNs reduced to the name)
  std::vector<std::string> actions;    // patterns, lower-cased ("s3:get*")
  std::vector<std::string> resources;  // ARN patterns, as written
};

struct BucketPolicy {
  std::vector<PolicyStatement> statements;
};

// Parses and validates `json` as the policy of `bucket`. Errors are
// MalformedPolicy (400) naming the problem: not JSON, too large, a missing
// or unknown field, an unknown action, a principal that is not a user, a
// resource of another bucket, an action that applies to none of the
// statement's resources, or an unsupported element (Condition, Not*).
std::variant<BucketPolicy, S3Error> ParseBucketPolicy(std::string_view json, std::string_view bucket);

enum class PolicyDecision { kNone, kAllow, kDeny };

// What `policy` says about `user_id` ("" = an unsigned, anonymous request)
// doing `action` (e.g. "s3:GetObject", any case) on `resource_arn` (from
// BucketArn or ObjectArn).
PolicyDecision EvaluateBucketPolicy(const BucketPolicy& policy, std::string_view user_id,
                                    std::string_view action, std::string_view resource_arn);

std::string BucketArn(std::string_view bucket);                        // arn:aws:s3:::b
std::string ObjectArn(std::string_view bucket, std::string_view key);  // arn:aws:s3:::b/k

// '*' matches any run of characters (also none), '?' exactly one; nothing
// else is special. Case-sensitive.
bool WildcardMatch(std::string_view pattern, std::string_view text);

}  // namespace holdfast::s3
