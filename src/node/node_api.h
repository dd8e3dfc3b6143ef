// The node's internal HTTP API, shared by the node (server) and the gateway
// (client). Specified in docs/node-api.md.
//
//   PUT    /v1/shards/{shard_id}          body: framed shard stream (storage/shard_stream.h)
//                                        201 {"blocks": N} once durable
//   GET    /v1/shards/{shard_id}?first_block=F&block_count=N
//                                        200, body: kBlock/kError frames for blocks F..F+N-1
//   GET    /v1/shards/{shard_id}/footer   200, the shard's footer as JSON
//   GET    /v1/shards/{shard_id}/verify   200, the footer, once every block was read back and checked
//   POST   /v1/shards/{shard_id}/copy     body {"from": "host:port"}: the node copies the shard
//                                        from that node itself; 201 {"blocks": N} once durable
//   DELETE /v1/shards/{shard_id}          204 (404 if absent); needs the gateway's
//                                        X-Holdfast-Deletion authorisation (node/deletion_auth.h)
//   GET    /v1/status                     200, node id, labels and usage as JSON
//
// Every request carries "Authorization: HoldfastCluster <cluster secret>"; a
// missing or wrong secret gets 401 before anything else is looked at.
// Errors have a JSON body {"error": "<message>"}.
//
// Nodes announce themselves to the gateway with
//   POST /_holdfast/v1/heartbeat   body: Heartbeat as JSON, same Authorization
//                                  200 HeartbeatReply as JSON
// Heartbeats also carry the node's scrub counters and the shards its scrub
// found corrupt; each such shard is re-sent until a reply acknowledges it
// (so a lost reply or a gateway restart loses no report).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace holdfast::node {

inline constexpr std::string_view kAuthScheme = "HoldfastCluster ";
inline constexpr std::string_view kShardsPath = "/v1/shards/";
// GET ?after=ID&limit=N: committed shards with their footers (docs/node-api.md).
inline constexpr std::string_view kShardListPath = "/v1/shards";
inline constexpr std::string_view kHeartbeatPath = "/_holdfast/v1/heartbeat";

inline std::string AuthorizationValue(std::string_view cluster_secret) {
  return std::string(kAuthScheme) + std::string(cluster_secret);
}

// What the node's scrubber (node/scrubber.h) has done since the node started.
struct ScrubStats {
  uint64_t rate_limit_bytes_per_second = 0;  // 0: scrubbing is off
  uint64_t bytes_verified = 0;
  uint64_t shards_verified = 0;   // found clean
  uint64_t corrupt_found = 0;     // failed verification and quarantined
  uint64_t read_errors = 0;       // shards that could not be opened; retried next pass
  uint64_t passes_completed = 0;
  int64_t last_pass_completed_unix_ms = 0;  // 0: none yet
};

// At most this many corrupt shard ids go in one heartbeat; the rest follow
// in later ones.
inline constexpr size_t kMaxCorruptShardsPerHeartbeat = 256;

// What a node reports about itself every heartbeat interval.
struct Heartbeat {
  std::string id;
  std::string provider;
  std::string site;
  std::string endpoint;  // "host:port" of this node's API
  uint64_t capacity_bytes = 0;
  uint64_t available_bytes = 0;
  uint64_t used_bytes = 0;
  uint64_t shard_count = 0;
  bool read_only = false;
  // Random per process start: the gateway sees a restart (a data directory
  // that may have changed while the node was away) even when the node was
  // back before anyone counted it down. "" from nodes before this field.
  std::string boot_id;
  ScrubStats scrub;
  // Shard ids the scrub found corrupt and quarantined, not yet acknowledged.
  std::vector<std::string> corrupt_shards;
};

std::string EncodeHeartbeat(const Heartbeat& heartbeat);
// Rejects more than kMaxCorruptShardsPerHeartbeat corrupt shards or an
// invalid shard id among them.
Result<Heartbeat> DecodeHeartbeat(std::string_view json);

// The gateway's answer to a heartbeat.
struct HeartbeatReply {
  // Corrupt shard reports the gateway has dealt with (recorded the shard as
  // missing, or found that the catalogue no longer keeps it on this node):
  // the node stops sending them.
  std::vector<std::string> acknowledged_corrupt_shards;
  // The gateway's deletion public key, 64 hex digits (node/deletion_auth.h);
  // empty from a gateway that does not announce one.
  std::string deletion_key_hex;
};

std::string EncodeHeartbeatReply(const HeartbeatReply& reply);
Result<HeartbeatReply> DecodeHeartbeatReply(std::string_view json);

// Node ids, provider and site names: 1-64 chars of [A-Za-z0-9._-].
bool IsValidLabel(std::string_view label);

}  // namespace holdfast::node
