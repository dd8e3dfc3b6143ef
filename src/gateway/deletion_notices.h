// deletion_notices: an operator's deletion of an account's data, or of a
// provider's, happens only with notice (docs/deletion-notices.md).
//
//   POST /_holdfast/v1/deletion-notices?scope=user|provider&target=NAME
//        &reason=WHY&issued-by=WHO[&wait-s=N][&notify=URL ...]
//        -> 201 {"notice": {...}, "receipt": {...}}
//   GET  /_holdfast/v1/deletion-notices            -> {"notices": [...]}
//   DELETE /_holdfast/v1/deletion-notices?id=N&by=WHO&reason=WHY  (cancel a waiting one)
//   POST|DELETE|GET /_holdfast/v1/webhooks?user=U[&url=URL]  an account's endpoints
//
// Issuing records a deletion_notice entry in the notice ledger (the issuer
// gets the receipt at once) and one delivery per recipient: the account's
// webhook endpoints (scope user) and every notify URL. Then the notice
// waits. The background loop (RunDeletionNotices):
//   - POSTs the notice as JSON to every recipient not yet reached, retrying
//     a failed delivery after notice_retry_base, doubling up to an hour;
//     every attempt, failed or not, is a notice_delivery ledger entry;
//   - once the effective time (issue time + the waiting period, at least
//     GatewaySettings::deletion_notice_min_wait) has passed and every
//     recipient has received it, executes it: scope user deletes every
//     version, upload and bucket of the account and its keys in one store
//     transaction that passes the removal guard for each version, so any
//     hold or retention refuses all of it (the notice keeps waiting and
//     says why); scope provider retires the provider, which needs it drained
//     and no provider hold. The execution is a data_destroyed ledger entry.
#pragma once

#include <atomic>
#include <string_view>

#include "gateway/context.h"
#include "net/http.h"

namespace holdfast::gateway {

inline constexpr std::string_view kDeletionNoticesPath = "/_holdfast/v1/deletion-notices";
inline constexpr std::string_view kWebhooksPath = "/_holdfast/v1/webhooks";

inline bool IsDeletionNoticePath(std::string_view path) {
  return path == kDeletionNoticesPath || path == kWebhooksPath;
}

// Answers an authenticated request to one of the paths above.
net::Task<void> HandleDeletionNotices(GatewayContext& context, const net::Request& http, net::ResponseWriter& out);

// Delivers and executes waiting notices until `stopping`.
net::Task<void> RunDeletionNotices(GatewayContext& context, const std::atomic<bool>& stopping);

}  // namespace holdfast::gateway
