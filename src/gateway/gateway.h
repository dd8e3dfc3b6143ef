// gateway: the S3-compatible front end and the cluster's coordinator.
// Start here for gateway/.
//
// A Gateway owns the metadata store, the live cluster view, the node client,
// the HTTP server (S3 API + internal node API on one port) and the
// background services:
//   - garbage collection: deletes shards queued by overwrites, deletes and
//     aborted writes (the only path by which shards leave nodes);
//   - the pending-write sweeper: aborts writes whose gateway never finished
//     them (a crash between streaming shards and committing the row);
//   - repair: after a node has been down for longer than the loss grace,
//     rebuilds its shards elsewhere, most endangered objects first, and
//     reconciles nodes that come back (gateway/repair.h).
// The request path is documented in ARCHITECTURE.md.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "gateway/cluster.h"
#include "net/http.h"
#include "placement/placement.h"

namespace holdfast::gateway {

class GatewayContext;  // gateway/context.h

struct GatewayOptions {
  std::filesystem::path data_dir;  // holds meta.db
  std::string listen_address = "127.0.0.1";
  uint16_t port = 9000;
  std::string cluster_secret;
  std::optional<placement::DurabilityPolicy> policy;  // nullopt: default for topology
  std::chrono::milliseconds heartbeat_timeout{5000};
  // A node down for longer than this is lost: its shards are rebuilt.
  std::chrono::milliseconds shard_loss_grace{60000};
  uint64_t repair_bytes_per_second = 256ull << 20;
  uint64_t drain_bytes_per_second = 256ull << 20;  // gateway/drain.h
  // Metadata backups into the cluster (gateway/meta_backup.h); 0 = none.
  std::chrono::milliseconds meta_backup_interval{std::chrono::hours(1)};
  // How often the notice ledger signs a tree head if it grew meanwhile
  // (gateway/ledger_api.h); receipts and POST .../ledger/head sign at once.
  std::chrono::milliseconds ledger_head_interval{60000};
  // Deletion notices (gateway/deletion_notices.h).
  std::chrono::milliseconds deletion_notice_min_wait{std::chrono::hours(24 * 30)};
  std::chrono::milliseconds notice_retry_base{30000};
  std::chrono::milliseconds pending_write_expiry{std::chrono::hours(24)};
  // A multipart upload neither completed nor aborted this long after it was
  // created is aborted and its parts deleted (S3 leaves this to a lifecycle
  // rule; operators expect abandoned parts not to fill their disks forever).
  std::chrono::milliseconds multipart_upload_expiry{std::chrono::hours(24 * 7)};
  int io_threads = 2;
  // The web interface (docs/web.md): a second listener on web_port (0 = any
  // free port) answered by the handler `web_handler` makes (given the bound
  // S3 port, for the pages to show); no factory = no
  // web interface. The factory comes from web/ (web/web.h), which builds on
  // the gateway, so the gateway does not link it itself.
  std::function<net::Handler(GatewayContext&, uint16_t s3_port)> web_handler;
  uint16_t web_port = 0;
  // Credentials to install at start (e.g. the dev cluster's); may be empty.
  std::string access_key_id;
  std::string secret_key;
};

class Gateway {
 public:
  static Result<std::unique_ptr<Gateway>> Start(const GatewayOptions& options);
  virtual ~Gateway() = default;
  virtual uint16_t port() const = 0;
  virtual uint16_t web_port() const = 0;  // 0 without a web interface
  virtual std::vector<NodeView> Nodes() const = 0;
  // Stops serving and the background services; returns when they are done.
  virtual void Stop() = 0;
};

}  // namespace holdfast::gateway
