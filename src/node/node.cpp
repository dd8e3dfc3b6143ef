#include "node/node.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>

#include <atomic>

#include "common/digest.h"
#include "common/log.h"
#include "net/http.h"
#include "node/deletion_auth.h"
#include "node/node_api.h"
#include "node/node_service.h"
#include "node/scrubber.h"
#include "storage/shard_store.h"

namespace holdfast::node {
namespace {

// Announces the node to the gateway until `stopping` is set, with the
// scrub's counters and the corrupt shards it has not had acknowledged yet.
// Failures are logged once per outage, not once per attempt.
net::Task<void> HeartbeatLoop(const NodeOptions& options, std::string endpoint,
                              storage::ShardStore& store, Scrubber& scrubber, DeletionKeyPin& deletion_pin,
                              const std::atomic<bool>& stopping) {
  net::ConnectionPool pool(std::chrono::milliseconds(2000), 1);
  net::Headers headers;
  headers.Set("Authorization", AuthorizationValue(options.cluster_secret));
  headers.Set("Content-Type", "application/json");
  bool was_failing = false;
  const std::string boot_id = RandomHex(8);
  while (!stopping) {
    storage::StoreUsage usage = store.Usage();
    Heartbeat beat{options.id,           options.provider,  options.site,
                   endpoint,             usage.capacity_bytes, usage.available_bytes,
                   usage.used_bytes,     usage.shard_count, store.read_only()};
    beat.boot_id = boot_id;
    beat.scrub = scrubber.Stats();
    beat.corrupt_shards = scrubber.PendingReports(kMaxCorruptShardsPerHeartbeat);
    auto response = co_await net::Fetch(&pool, options.gateway_endpoint, "POST", kHeartbeatPath,
                                        headers, EncodeHeartbeat(beat),
                                        std::chrono::milliseconds(5000));
    bool failing = !response || response->status != 200;
    if (!failing) {
      auto reply = DecodeHeartbeatReply(response->body);
      if (reply) {
        if (!beat.corrupt_shards.empty()) scrubber.Acknowledge(reply->acknowledged_corrupt_shards);
        deletion_pin.Offer(reply->deletion_key_hex);
      } else {
        HF_LOG_WARN("gateway {}: {}", options.gateway_endpoint, reply.error().message);
      }
    }
    if (failing && !was_failing) {
      HF_LOG_WARN("heartbeat to gateway {} failed: {}", options.gateway_endpoint,
                  response ? "HTTP " + std::to_string(response->status) + " " + response->body
                           : response.error().message);
    } else if (!failing && was_failing) {
      HF_LOG_INFO("heartbeats to gateway {} succeed again", options.gateway_endpoint);
    }
    was_failing = failing;
    co_await net::SleepFor(options.heartbeat_interval);
  }
}

}  // namespace

int RunNode(const NodeOptions& options) {
  SetLogComponent("node " + options.id);
  if (!IsValidLabel(options.id) || !IsValidLabel(options.provider) || !IsValidLabel(options.site)) {
    HF_LOG_ERROR("node id, provider and site must be 1-64 characters of A-Z a-z 0-9 . _ -");
    return 2;
  }
  auto store = storage::ShardStore::Open(options.data_dir);
  if (!store) {
    HF_LOG_ERROR("cannot open shard store in {}: {}", options.data_dir.string(),
                 store.error().message);
    return 1;
  }
  auto deletion_pin = DeletionKeyPin::Open(options.data_dir, options.trust_deletion_key_hex);
  if (!deletion_pin) {
    HF_LOG_ERROR("{}", deletion_pin.error().message);
    return 2;
  }
  Scrubber scrubber(**store,
                    ScrubOptions{options.scrub_bytes_per_second, options.scrub_interval,
                                 options.data_dir / "scrub-progress.json"},
                    SystemClock());
  boost::asio::thread_pool blocking_pool(4);
  net::IoPool io(2);
  net::ServerOptions server_options;
  server_options.bind_address = options.listen_address;
  server_options.port = options.port;
  auto server = net::HttpServer::Start(
      io, server_options,
      MakeNodeHandler(**store, options.cluster_secret, blocking_pool, &scrubber, options.id, **deletion_pin));
  if (!server) {
    HF_LOG_ERROR("cannot listen on {}:{}: {}", options.listen_address, options.port,
                 server.error().message);
    return 1;
  }
  std::string endpoint = options.listen_address + ":" + std::to_string((*server)->port());
  HF_LOG_INFO("serving {} shards from {} on {} (provider {}, site {})",
              (*store)->Usage().shard_count, options.data_dir.string(), endpoint, options.provider,
              options.site);

  std::atomic<bool> stopping{false};
  boost::asio::signal_set signals(io.context(0), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int signal) {
    HF_LOG_INFO("signal {}: stopping", signal);
    stopping = true;
    (*server)->Stop();
    io.Stop();
  });
  if (!options.gateway_endpoint.empty()) {
    boost::asio::co_spawn(io.context(0),
                          HeartbeatLoop(options, endpoint, **store, scrubber, **deletion_pin, stopping),
                          boost::asio::detached);
  }
  scrubber.Start();
  io.Join();
  scrubber.Stop();
  blocking_pool.join();
  return 0;
}

}  // namespace holdfast::node
