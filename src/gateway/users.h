// S3 users on the admin API (docs/admin-api.md): POST /_holdfast/v1/users?user=NAME
// gives user NAME a new access key and returns it with its secret;
// PUT ...&allow-bypass-governance=true|false sets whether the user may bypass
// GOVERNANCE Object Lock retention (docs/object-lock.md), GET reads it (POST
// takes the same parameter). A user is its access keys: buckets belong to the user that created them, and every
// bucket and object operation checks the caller owns the bucket or that the
// bucket's policy lets the caller do it (RequireBucketAccess; s3_policy.cpp,
// docs/s3-compatibility.md), so users touch each other's data only as shared.
#pragma once

#include <string_view>

#include "gateway/context.h"
#include "net/http.h"

namespace holdfast::gateway {

inline constexpr std::string_view kUsersPath = "/_holdfast/v1/users";

// Answers an authenticated request to kUsersPath.
net::Task<void> HandleUsers(GatewayContext& context, const net::Request& http, net::ResponseWriter& out);

}  // namespace holdfast::gateway
