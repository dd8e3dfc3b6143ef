#include "gateway/gateway.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <atomic>
#include <system_error>

#include "common/clock.h"
#include "common/digest.h"
#include "common/log.h"
#include "gateway/background.h"
#include "gateway/context.h"
#include "gateway/deletion_notices.h"
#include "gateway/drain.h"
#include "gateway/meta_backup.h"
#include "gateway/rebalance.h"
#include "gateway/ledger_api.h"
#include "gateway/repair.h"
#include "gateway/s3_api.h"
#include "ledger/ledger.h"
#include "ledger/signing.h"
#include "meta/meta_store.h"
#include "net/http.h"

namespace holdfast::gateway {
namespace {

class GatewayImpl final : public Gateway {
 public:
  GatewayImpl(const GatewayOptions& options, std::unique_ptr<meta::MetaStore> store)
      : options_(options),
        store_(std::move(store)),
        cluster_(SystemClock(), options.heartbeat_timeout, std::chrono::milliseconds(2000),
                 options.shard_loss_grace),
        blocking_pool_(4),
        io_(options.io_threads),
        nodes_(options.cluster_secret, std::chrono::milliseconds(2000)),
        context_(*store_, cluster_, nodes_, blocking_pool_, SystemClock(), Settings(options)) {}

  Status Init() {
    auto known = store_->ListNodes();
    if (!known) return known.error();
    cluster_.Load(*known);
    auto drains = store_->ListDrains();
    if (!drains) return drains.error();
    cluster_.SetDrains(std::move(*drains));
    if (!options_.access_key_id.empty()) {
      Status put = store_->PutAccessKey({options_.access_key_id, options_.secret_key, "dev"});
      if (!put) return put;
    }
    AbortWritesOfEarlierRuns();
    // The ledger key signs every tree head handed out in a receipt; it is
    // made once and kept beside the metadata (ledger/signing.h).
    auto ledger_key = ledger::LoadOrCreateKeyFile(options_.data_dir / "ledger.key");
    if (!ledger_key) return ledger_key.error();
    ledger_ = std::make_unique<ledger::Ledger>(*store_, std::move(*ledger_key), SystemClock());
    context_.ledger = ledger_.get();
    // A key of its own for shard deletions: nodes pin it, and it can be
    // handled (and rotated) apart from the ledger's identity.
    auto deletion_key = ledger::LoadOrCreateKeyFile(options_.data_dir / "deletion.key");
    if (!deletion_key) return deletion_key.error();
    deletion_key_ = std::make_unique<ledger::SigningKey>(std::move(*deletion_key));
    context_.deletion_key = deletion_key_.get();
    context_.deletion_key_hex = HexLower(deletion_key_->public_key());
    HF_LOG_INFO("shard deletions are signed with deletion key {} (nodes pin it: docs/node-api.md)",
                context_.deletion_key_hex);
    net::ServerOptions server_options;
    server_options.bind_address = options_.listen_address;
    server_options.port = options_.port;
    auto server = net::HttpServer::Start(io_, server_options,
                                         MakeGatewayHandler(context_, options_.cluster_secret));
    if (!server) return server.error();
    server_ = std::move(*server);
    if (options_.web_handler) {
      net::ServerOptions web_options = server_options;
      web_options.port = options_.web_port;
      auto web = net::HttpServer::Start(io_, web_options, options_.web_handler(context_, server_->port()));
      if (!web) return web.error();
      web_server_ = std::move(*web);
    }
    boost::asio::co_spawn(io_.context(0), RunGarbageCollector(context_, stopping_), boost::asio::detached);
    boost::asio::co_spawn(io_.context(0),
                          RunPendingWriteSweeper(context_, options_.pending_write_expiry,
                                                 options_.multipart_upload_expiry, stopping_),
                          boost::asio::detached);
    // Repair and drain rebuild on every I/O thread (one cannot keep up).
    std::vector<net::Executor> workers;
    for (size_t i = 0; i < io_.size(); ++i) workers.push_back(io_.context(i).get_executor());
    boost::asio::co_spawn(io_.context(0), RunRepair(context_, stopping_, workers), boost::asio::detached);
    boost::asio::co_spawn(io_.context(0), RunLedgerTreeHeadSigner(context_, options_.ledger_head_interval, stopping_),
                          boost::asio::detached);
    boost::asio::co_spawn(io_.context(0), RunDrain(context_, stopping_, workers), boost::asio::detached);
    boost::asio::co_spawn(io_.context(0), RunDeletionNotices(context_, stopping_), boost::asio::detached);
    boost::asio::co_spawn(io_.context(0), RunRebalance(context_, stopping_), boost::asio::detached);
    boost::asio::co_spawn(io_.context(0), RunMetadataBackup(context_, stopping_), boost::asio::detached);
    return Status::Ok();
  }

  uint16_t port() const override { return server_->port(); }
  uint16_t web_port() const override { return web_server_ ? web_server_->port() : 0; }
  std::vector<NodeView> Nodes() const override { return cluster_.Nodes(); }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    stopping_ = true;
    server_->Stop();
    if (web_server_) web_server_->Stop();
    io_.Stop();
    io_.Join();
    blocking_pool_.join();
  }

  ~GatewayImpl() override { Stop(); }

 private:
  static GatewaySettings Settings(const GatewayOptions& options) {
    GatewaySettings settings;
    settings.policy = options.policy;
    settings.shard_loss_grace = options.shard_loss_grace;
    settings.repair_bytes_per_second = options.repair_bytes_per_second;
    settings.drain_bytes_per_second = options.drain_bytes_per_second;
    settings.data_dir = options.data_dir;
    settings.meta_backup_interval = options.meta_backup_interval;
    settings.deletion_notice_min_wait = options.deletion_notice_min_wait;
    settings.notice_retry_base = options.notice_retry_base;
    return settings;
  }

  // With the embedded store this gateway is the only writer, so every write
  // still pending at start-up belonged to a run that died before committing.
  void AbortWritesOfEarlierRuns() {
    auto pending = store_->ExpiredPendingWrites(SystemClock().NowUnixMs(), 1 << 20);
    if (!pending) return;
    for (const auto& write : *pending) {
      HF_LOG_INFO("aborting write of {}/{} left pending by an earlier run", write.bucket, write.key);
      (void)store_->AbortWrite(write.version_id);
    }
  }

  GatewayOptions options_;
  std::unique_ptr<meta::MetaStore> store_;
  std::unique_ptr<ledger::Ledger> ledger_;  // after store_: it uses it
  std::unique_ptr<ledger::SigningKey> deletion_key_;
  ClusterView cluster_;
  boost::asio::thread_pool blocking_pool_;
  net::IoPool io_;
  // After io_: its pooled idle connections are sockets of io_'s contexts and
  // must close before those contexts are destroyed (net/http.h).
  NodeClient nodes_;
  GatewayContext context_;
  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<net::HttpServer> web_server_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
};

}  // namespace

Result<std::unique_ptr<Gateway>> Gateway::Start(const GatewayOptions& options) {
  SetLogComponent("gateway");
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) return MakeError(Errc::kIo, "cannot create " + options.data_dir.string() + ": " + ec.message());
  auto store = meta::OpenSqliteStore(options.data_dir / "meta.db");
  if (!store) return store.error();
  auto gateway = std::make_unique<GatewayImpl>(options, std::move(*store));
  Status started = gateway->Init();
  if (!started) return started.error();
  return std::unique_ptr<Gateway>(std::move(gateway));
}

}  // namespace holdfast::gateway
