// The client side of a node's block stream and footer (node/node_api.h):
// what the gateway reads shards with (reads, repair, drain), and what a node
// copying a shard from another node reads it with (POST .../copy).
//
// Errors: kUnavailable when the node could not be reached or dropped the
// connection, kCorrupt when a block failed verification (on the node or on
// arrival here), kNotFound when the node has no such shard, others as the
// node said.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "net/http.h"
#include "storage/shard_store.h"

namespace holdfast::node {

class ShardDownload {
 public:
  virtual ~ShardDownload() = default;
  // Reads the next block into `out` (exactly block_size bytes) and verifies
  // its checksum. kCorrupt if the node or this check found it damaged (the
  // stream can go on with the next block); kUnavailable if the stream broke.
  virtual net::Task<Status> NextBlock(std::span<uint8_t> out) = 0;
  virtual uint64_t next_block_index() const = 0;
  // The checksum of the block the last successful NextBlock returned, as
  // verified against its bytes: a copy sends it on without hashing again.
  virtual uint64_t last_checksum() const = 0;
};

// Streams blocks [first_block, first_block + block_count) of `shard_id`
// from the node at `endpoint`, on a connection from `pool` (returned to it
// after the last block).
net::Task<Result<std::unique_ptr<ShardDownload>>> OpenShardDownload(
    net::ConnectionPool* pool, std::string endpoint, std::string authorization, std::string shard_id,
    uint64_t first_block, uint64_t block_count, uint32_t block_size_bytes);

// The footer of a committed shard, as the node verified it on disk.
net::Task<Result<storage::ShardFooter>> FetchShardFooter(net::ConnectionPool* pool, std::string endpoint,
                                                         std::string authorization, std::string shard_id);

// The Errc for a node's HTTP error status, and the error in words.
Errc ErrcForNodeStatus(int status);
std::string NodeErrorMessage(int status, std::string_view body);
// Reads a (small) response body after the head: an error's JSON.
net::Task<std::string> ReadSmallBody(net::ClientConnection& connection);

}  // namespace holdfast::node
