// node: the storage node daemon.  Start here for node/.
//
// A node serves the shard store (storage/) over the internal HTTP API
// (node_api.h), scrubs it (scrubber.h) and announces itself to the gateway
// with heartbeats, which also carry the scrub's findings. It keeps
// no state of its own beyond its shard files: everything it knows about an
// object is in the shard footers.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

namespace holdfast::node {

struct NodeOptions {
  std::string id;        // unique node (server) id
  std::string provider;  // failure domain labels
  std::string site;
  std::filesystem::path data_dir;
  std::string listen_address = "127.0.0.1";
  uint16_t port = 0;  // 0 = any free port (reported in heartbeats)
  std::string gateway_endpoint;  // "host:port"; heartbeats go there
  std::string cluster_secret;
  std::chrono::milliseconds heartbeat_interval{1000};
  // Scrubbing (node/scrubber.h): read rate, 0 = off, and how often a pass
  // starts at most. 16 MiB/s verifies about 9 TiB a week.
  uint64_t scrub_bytes_per_second = 16ull << 20;
  std::chrono::seconds scrub_interval{7 * 24 * 3600};
  // Replaces the pinned gateway deletion key (node/deletion_auth.h); empty:
  // keep the pin, or pin the first key the gateway announces.
  std::string trust_deletion_key_hex;
};

// Runs the node until SIGINT or SIGTERM. Returns a process exit code.
int RunNode(const NodeOptions& options);

}  // namespace holdfast::node
