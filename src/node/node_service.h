// The request handler of a node: the internal API over a ShardStore.
// Separate from RunNode so tests can serve it from an in-process server.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <memory>
#include <string>

#include "net/http.h"
#include "storage/shard_store.h"

namespace holdfast::node {

// Handles one internal API request. `store` and `blocking_pool` must outlive
// the returned handler. Thread-safe.
net::Handler MakeNodeHandler(storage::ShardStore& store, std::string cluster_secret,
                             boost::asio::thread_pool& blocking_pool);

}  // namespace holdfast::node
