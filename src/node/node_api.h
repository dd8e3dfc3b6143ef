// The node's internal HTTP API, shared by the node (server) and the gateway
// (client). Specified in docs/node-api.md.
//
//   PUT    /v1/shards/{shard_id}          body: framed shard stream (storage/shard_stream.h)
//                                        201 {"blocks": N} once durable
//   GET    /v1/shards/{shard_id}?first_block=F&block_count=N
//                                        200, body: kBlock/kError frames for blocks F..F+N-1
//   GET    /v1/shards/{shard_id}/footer   200, the shard's footer as JSON
//   DELETE /v1/shards/{shard_id}          204 (404 if absent)
//   GET    /v1/status                     200, node id, labels and usage as JSON
//
// Every request carries "Authorization: HoldfastCluster <cluster secret>"; a
// missing or wrong secret gets 401 before anything else is looked at.
// Errors have a JSON body {"error": "<message>"}.
//
// Nodes announce themselves to the gateway with
//   POST /_holdfast/v1/heartbeat   body: Heartbeat as JSON, same Authorization
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace holdfast::node {

inline constexpr std::string_view kAuthScheme = "HoldfastCluster ";
inline constexpr std::string_view kShardsPath = "/v1/shards/";
inline constexpr std::string_view kHeartbeatPath = "/_holdfast/v1/heartbeat";

inline std::string AuthorizationValue(std::string_view cluster_secret) {
  return std::string(kAuthScheme) + std::string(cluster_secret);
}

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
};

std::string EncodeHeartbeat(const Heartbeat& heartbeat);
Result<Heartbeat> DecodeHeartbeat(std::string_view json);

// Node ids, provider and site names: 1-64 chars of [A-Za-z0-9._-].
bool IsValidLabel(std::string_view label);

}  // namespace holdfast::node
