// The notice ledger on the admin API (docs/admin-api.md "Notice ledger";
// format: docs/ledger.md), behind the cluster secret like all of
// /_holdfast/:
//
//   GET  /_holdfast/v1/ledger/head                     latest signed tree head
//   POST /_holdfast/v1/ledger/head                     sign a fresh one now
//   GET  /_holdfast/v1/ledger/public-key               the ledger key
//   GET  /_holdfast/v1/ledger/entries?first=&limit=    canonical entries, NDJSON
//   GET  /_holdfast/v1/ledger/tree-heads?after_seq=&limit=
//   GET  /_holdfast/v1/ledger/proof/inclusion?index=[&tree_size=]
//   GET  /_holdfast/v1/ledger/proof/consistency?first=[&second=]
//   POST /_holdfast/v1/ledger/preservation-requests?case=&requested_by=[&scope=]
//        (body: the attached document) -> receipt
//   POST /_holdfast/v1/ledger/acknowledgements (JSON fields) -> receipt
//   POST /_holdfast/v1/ledger/entries ({"kind", "fields"}) -> receipt
//
// and the background task that signs a tree head whenever the log grew.
#pragma once

#include <atomic>
#include <chrono>
#include <string_view>

#include "gateway/context.h"
#include "net/http.h"

namespace holdfast::gateway {

inline constexpr std::string_view kLedgerPathPrefix = "/_holdfast/v1/ledger/";

inline bool IsLedgerPath(std::string_view path) { return path.starts_with(kLedgerPathPrefix); }

// Answers an authenticated request to a ledger path. `http`, `body` and
// `out` must outlive the call (the connection's own objects do).
net::Task<void> HandleLedger(GatewayContext& context, const net::Request& http, net::BodyReader& body,
                             net::ResponseWriter& out);

// Every `interval`, signs a tree head if the log grew since the latest one
// (and once at start if none was ever signed), until `stopping`.
net::Task<void> RunLedgerTreeHeadSigner(GatewayContext& context, std::chrono::milliseconds interval,
                                        const std::atomic<bool>& stopping);

}  // namespace holdfast::gateway
