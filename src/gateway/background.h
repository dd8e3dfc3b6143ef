// Background services of the gateway. Each runs as a coroutine loop until
// `stopping` is set, doing a bounded batch per round.
#pragma once

#include <atomic>
#include <chrono>

#include "gateway/context.h"
#include "net/http.h"

namespace holdfast::gateway {

// Deletes queued shards from their nodes. A shard whose node is down stays
// queued until the node is back (a node that never returns is retired
// through drain, which clears its queue). A queued copy that the catalogue
// records at that node again (repair put the shard back where it was) is
// live and is not deleted; a copy repair is writing right now is left for
// a later round (GatewayContext::shard_copy_locks).
net::Task<void> RunGarbageCollector(GatewayContext& context, const std::atomic<bool>& stopping);

// Aborts writes that have been pending longer than `expiry`: their gateway
// died before committing, so their shards are orphans. Also aborts
// multipart uploads begun more than `upload_expiry` ago (their parts go to
// GC), so abandoned uploads do not fill the disks.
net::Task<void> RunPendingWriteSweeper(GatewayContext& context, std::chrono::milliseconds expiry,
                                       std::chrono::milliseconds upload_expiry,
                                       const std::atomic<bool>& stopping);

}  // namespace holdfast::gateway
