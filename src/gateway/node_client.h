// The gateway's side of the node API (node/node_api.h): streaming shard
// uploads and downloads, whole small-shard puts, and deletes.
//
// Every call reports failure as a Status/Result: kUnavailable when the node
// could not be reached or dropped the connection, kCorrupt when a block
// failed verification (on the node or on arrival here), others as the node
// said. Callers route around failed nodes; nothing here retries a write.
//
// Thread-safety: NodeClient is shared; each Upload/Download belongs to one
// coroutine. Arguments are taken by value: the calls are lazy coroutines that
// may start after the caller's temporaries are gone (e.g. in ParallelAll).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "net/http.h"
#include "node/shard_client.h"
#include "storage/shard_store.h"

namespace holdfast::gateway {

class ShardUpload {
 public:
  virtual ~ShardUpload() = default;
  // Sends block `block_index` (they must come in order 0, 1, 2, ...).
  virtual net::Task<Status> SendBlock(uint64_t block_index, uint64_t checksum,
                                      std::span<const uint8_t> payload) = 0;
  // Sends the commit frame and waits until the node reports the shard durable.
  virtual net::Task<Status> Commit(storage::ShardFooter footer) = 0;
  // Drops the connection: the node discards the partial shard.
  virtual void Abort() = 0;
};

using node::ShardDownload;  // node/shard_client.h

// One page of a node's committed shards (GET /v1/shards).
struct ShardListPage {
  std::vector<storage::ShardFooter> footers;
  uint64_t skipped = 0;    // shard files the node could not validate
  std::string next_after;  // "" = this was the last page
};

class NodeClient {
 public:
  NodeClient(std::string cluster_secret, std::chrono::milliseconds connect_timeout);
  ~NodeClient();

  // Starts a streaming upload; sends the header frame.
  net::Task<Result<std::unique_ptr<ShardUpload>>> OpenUpload(std::string endpoint,
                                                             std::string shard_id,
                                                             storage::ShardFooter header);
  // Puts a whole shard whose framed body (header, blocks, commit) is built
  // already; for objects of one stripe, where one request per shard is best.
  net::Task<Status> PutWhole(std::string endpoint, std::string shard_id,
                             std::string framed_body);
  // Streams blocks [first_block, first_block + block_count) of a shard.
  net::Task<Result<std::unique_ptr<ShardDownload>>> OpenDownload(std::string endpoint,
                                                                 std::string shard_id,
                                                                 uint64_t first_block,
                                                                 uint64_t block_count,
                                                                 uint32_t block_size_bytes);
  // kNotFound if the node has no such shard; kPermission if the node does
  // not accept `authorisation` (the X-Holdfast-Deletion value,
  // node/deletion_auth.h).
  net::Task<Status> Delete(std::string endpoint, std::string shard_id, std::string authorisation);
  // The footer of a committed shard, as the node verified it on disk.
  // kNotFound if the node has no such shard, kCorrupt if it is damaged.
  net::Task<Result<storage::ShardFooter>> GetFooter(std::string endpoint, std::string shard_id);
  // Has the node at `endpoint` copy shard `shard_id` from the node at
  // `from_endpoint` (POST /v1/shards/{id}/copy): the bytes go node to node.
  // Returns the blocks the copy holds, durable. kCorrupt if the source's
  // copy is damaged, kNotFound if it has none, kUnavailable if either node
  // could not be reached or the source broke off.
  // A target that could not reach the source (or lost it midway) answers
  // kUnavailable with a message starting kCopySourceUnreachable.
  net::Task<Result<uint64_t>> CopyShard(std::string endpoint, std::string shard_id, std::string from_endpoint);
  static constexpr std::string_view kCopySourceUnreachable = "the node could not read the source: ";
  // Has the node read the whole shard back from its disk, checking every
  // block's checksum; returns its footer. kCorrupt if a block failed.
  net::Task<Result<storage::ShardFooter>> VerifyShard(std::string endpoint, std::string shard_id);
  // Committed shards after `after` in id order, with their footers.
  net::Task<Result<ShardListPage>> ListShards(std::string endpoint, std::string after, int limit);

 private:
  std::string authorization_;
  std::unique_ptr<net::ConnectionPool> pool_;
};

}  // namespace holdfast::gateway
