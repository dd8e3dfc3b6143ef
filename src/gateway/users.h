// S3 users on the admin API (docs/admin-api.md): POST /_holdfast/v1/users?user=NAME
// gives user NAME a new access key and returns it with its secret;
// PUT ...&allow-bypass-governance=true|false sets whether the user may bypass
// GOVERNANCE Object Lock retention (docs/object-lock.md), GET reads it (POST
// takes the same parameter). A user is its access keys: buckets belong to the user that created them, and every
// bucket and object operation checks the caller owns the bucket or that the
// bucket's policy lets the caller do it (RequireBucketAccess; s3_policy.cpp,
// docs/s3-compatibility.md), so users touch each other's data only as shared.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/context.h"
#include "net/http.h"

namespace holdfast::gateway {

inline constexpr std::string_view kUsersPath = "/_holdfast/v1/users";

// Answers an authenticated request to kUsersPath.
net::Task<void> HandleUsers(GatewayContext& context, const net::Request& http, net::ResponseWriter& out);

// Web accounts (docs/web.md): POST /_holdfast/v1/accounts?user=NAME with
// {"password_hash": "$argon2id$...", "role": "user"|"operator"} creates the
// account or replaces its password and role (`holdfast account create`
// hashes the password itself, so it never crosses the wire), and creates
// the home bucket NAME when that bucket name is free.
inline constexpr std::string_view kAccountsPath = "/_holdfast/v1/accounts";
net::Task<void> HandleAccounts(GatewayContext& context, const net::Request& http, net::BodyReader& body,
                               net::ResponseWriter& out);

// Lower-case letters, digits, '.', '_' and '-', starting with a letter or
// digit, at most 64 bytes: safe in logs, paths and bucket owner fields.
bool IsValidUserName(std::string_view name);
// A new access key for `user_id` with AWS-shaped credentials.
meta::AccessKey NewAccessKey(const std::string& user_id, int64_t now_unix_ms);

}  // namespace holdfast::gateway
