// holds: the operator's preservation holds on the admin API (docs/holds.md),
// behind the cluster secret like all of /_holdfast/:
//
//   POST   /_holdfast/v1/holds?scope=version&bucket=B&key=K[&version-id=V]
//          /_holdfast/v1/holds?scope=bucket|user|provider&target=NAME
//          with &case=REF&requested-by=WHO&reason=WHY (all three required)
//          -> 201 {"hold": {...}, "receipt": {...}}
//   DELETE /_holdfast/v1/holds?id=H&released-by=WHO&reason=WHY -> 200 {"hold": {...}, "receipt": {...}}
//   GET    /_holdfast/v1/holds[?all=true]                      -> 200 {"holds": [...]}
//
// The store enforces a hold (meta::HoldScope): from the moment the POST
// answers, every path that would destroy covered data -- S3 DELETE of a
// version, batch delete, overwrite of an unversioned key, multipart abort
// and expiry, account deletion, provider retirement, and a node's own
// shard deletion (docs/node-api.md) -- is refused with a message naming
// the hold and its case. Placing and releasing are recorded in the notice
// ledger (hold_placed / hold_released) and answered with the receipt.
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

#include "gateway/context.h"
#include "net/http.h"

namespace holdfast::gateway {

inline constexpr std::string_view kHoldsPath = "/_holdfast/v1/holds";

// Answers an authenticated request to kHoldsPath.
net::Task<void> HandleHolds(GatewayContext& context, const net::Request& http, net::ResponseWriter& out);

// A hold as the admin API shows it.
nlohmann::json HoldJson(const meta::Hold& hold);

}  // namespace holdfast::gateway
