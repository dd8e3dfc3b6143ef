// The request handler of a node: the internal API over a ShardStore.
// Separate from RunNode so tests can serve it from an in-process server.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <memory>
#include <string>

#include "net/http.h"
#include "storage/shard_store.h"

namespace holdfast::node {

class Scrubber;
class DeletionKeyPin;

// Handles one internal API request. `store`, `blocking_pool`, `scrubber`
// and `deletion_pin` must outlive the returned handler; shards that fail
// verification while being served are handed to `scrubber` (may be null).
// DELETE needs an authorisation that `deletion_pin` accepts for `node_id`
// (node/deletion_auth.h). Thread-safe.
net::Handler MakeNodeHandler(storage::ShardStore& store, std::string cluster_secret,
                             boost::asio::thread_pool& blocking_pool, Scrubber* scrubber, std::string node_id,
                             const DeletionKeyPin& deletion_pin);

}  // namespace holdfast::node
