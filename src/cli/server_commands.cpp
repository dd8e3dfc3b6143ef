// `holdfast node` and `holdfast gateway`: run one cluster role in the foreground.
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "common/log.h"
#include "gateway/gateway.h"
#include "web/web.h"
#include "node/node.h"

namespace holdfast::cli {

void BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForStopSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int signal = 0;
  sigwait(&set, &signal);
  return signal;
}

std::string ReadClusterSecret(const std::string& secret_file) {
  if (!secret_file.empty()) {
    std::ifstream in(secret_file);
    std::stringstream text;
    text << in.rdbuf();
    std::string secret = text.str();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    return secret;
  }
  const char* env = std::getenv("HOLDFAST_CLUSTER_SECRET");
  return env ? env : "";
}

namespace {

// "host:port" -> parts; false if malformed.
bool SplitHostPort(const std::string& text, std::string* host, uint16_t* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  *host = text.substr(0, colon);
  try {
    int value = std::stoi(text.substr(colon + 1));
    if (value < 0 || value > 65535) return false;
    *port = static_cast<uint16_t>(value);
  } catch (...) {
    return false;
  }
  return !host->empty();
}

}  // namespace

void AddNodeCommand(CLI::App& app, Action* run) {
  auto options = std::make_shared<node::NodeOptions>();
  auto listen = std::make_shared<std::string>("127.0.0.1:0");
  auto secret_file = std::make_shared<std::string>();
  auto heartbeat_ms = std::make_shared<int>(1000);
  auto scrub_mib_per_s = std::make_shared<uint64_t>(16);
  auto scrub_interval_s = std::make_shared<int64_t>(7 * 24 * 3600);
  CLI::App* cmd = app.add_subcommand(
      "node", "Run a storage node (with --id, --provider, --site, --data-dir, --gateway), or drain one");
  // Required only to run a node, not for `holdfast node drain ...`
  // (cli/drain_command.cpp): checked in the callback.
  cmd->add_option("--id", options->id, "Unique node (server) id (required to run a node)");
  cmd->add_option("--provider", options->provider, "Hosting provider this node runs at (required)");
  cmd->add_option("--site", options->site, "Site (data centre) within the provider (required)");
  cmd->add_option("--data-dir", options->data_dir, "Directory for shard files (required)");
  cmd->add_option("--listen", *listen, "Address for the node API (host:port, port 0 = any)");
  cmd->add_option("--gateway", options->gateway_endpoint, "Gateway to send heartbeats to (host:port) (required)");
  cmd->add_option("--secret-file", *secret_file, "File holding the cluster secret (default: $HOLDFAST_CLUSTER_SECRET)");
  cmd->add_option("--heartbeat-ms", *heartbeat_ms, "Heartbeat interval in milliseconds");
  cmd->add_option("--scrub-mib-per-s", *scrub_mib_per_s,
                  "Rate at which the scrub reads shards back to verify them, in MiB/s; 0 = off "
                  "(default 16: about 9 TiB a week)")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 20));
  cmd->add_option("--scrub-interval-s", *scrub_interval_s,
                  "A scrub pass starts at most this often, in seconds (default 7 days)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  cmd->add_option("--trust-deletion-key", options->trust_deletion_key_hex,
                  "Pin this gateway deletion public key (64 hex digits) instead of the one pinned at the "
                  "first heartbeat; only after the gateway's key really changed (docs/node-api.md)");
  cmd->callback([=] {
    if (!cmd->get_subcommands().empty()) return;  // drain, undrain or retire
    for (const char* flag : {"--id", "--provider", "--site", "--data-dir", "--gateway"}) {
      if (cmd->count(flag) == 0) throw CLI::RequiredError(flag);
    }
    *run = [=]() -> int {
      node::NodeOptions o = *options;
      if (!SplitHostPort(*listen, &o.listen_address, &o.port)) {
        std::cerr << "holdfast node: --listen must be host:port, got '" << *listen << "'\n";
        return 2;
      }
      o.cluster_secret = ReadClusterSecret(*secret_file);
      if (o.cluster_secret.empty()) {
        std::cerr << "holdfast node: no cluster secret: set HOLDFAST_CLUSTER_SECRET or --secret-file\n";
        return 2;
      }
      o.heartbeat_interval = std::chrono::milliseconds(*heartbeat_ms);
      o.scrub_bytes_per_second = *scrub_mib_per_s << 20;
      o.scrub_interval = std::chrono::seconds(*scrub_interval_s);
      return node::RunNode(o);
    };
  });
}

void AddGatewayCommand(CLI::App& app, Action* run) {
  auto options = std::make_shared<gateway::GatewayOptions>();
  auto listen = std::make_shared<std::string>("127.0.0.1:9000");
  auto secret_file = std::make_shared<std::string>();
  auto policy = std::make_shared<std::vector<int>>();
  auto loss_grace_ms = std::make_shared<int64_t>(60000);
  auto repair_mib_per_s = std::make_shared<uint64_t>(256);
  auto drain_mib_per_s = std::make_shared<uint64_t>(256);
  auto meta_backup_interval_s = std::make_shared<int64_t>(3600);
  auto multipart_expiry_s = std::make_shared<int64_t>(7 * 24 * 3600);
  auto ledger_head_interval_s = std::make_shared<int64_t>(60);
  auto deletion_wait_s = std::make_shared<int64_t>(30 * 24 * 3600);
  auto notice_retry_ms = std::make_shared<int64_t>(30000);
  auto web_port = std::make_shared<int>(-1);
  auto web_root = std::make_shared<std::string>();
  auto web_public_url = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("gateway", "Run the S3 gateway");
  cmd->add_option("--data-dir", options->data_dir, "Directory for the metadata store")->required();
  cmd->add_option("--listen", *listen, "Address for S3 and the internal API (host:port)");
  cmd->add_option("--secret-file", *secret_file, "File holding the cluster secret (default: $HOLDFAST_CLUSTER_SECRET)");
  cmd->add_option("--access-key", options->access_key_id, "Install this S3 access key at start");
  cmd->add_option("--secret-key", options->secret_key, "Secret for --access-key");
  cmd->add_option("--survive", *policy,
                  "Durability policy: P S = survive the loss of P providers plus S more servers "
                  "(default: 1 1 with two or more providers)")
      ->expected(2);
  cmd->add_option("--loss-grace-ms", *loss_grace_ms,
                  "How long a node may be down before its shards count as lost and are rebuilt")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  cmd->add_option("--repair-mib-per-s", *repair_mib_per_s,
                  "Rate limit for the bytes repair writes, in MiB/s")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20));
  cmd->add_option("--meta-backup-interval-s", *meta_backup_interval_s,
                  "How often the metadata store is backed up into the cluster, in seconds (default 1 hour); 0 = never")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  cmd->add_option("--drain-mib-per-s", *drain_mib_per_s,
                  "Rate limit for the bytes drains and rebalances move, together, in MiB/s")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20));
  cmd->add_option("--multipart-expiry-s", *multipart_expiry_s,
                  "Abort multipart uploads not completed this many seconds after they were created (default 7 days)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--deletion-wait-s", *deletion_wait_s,
                  "Shortest waiting period between a deletion notice and its execution, in seconds (default 30 days)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  cmd->add_option("--notice-retry-ms", *notice_retry_ms,
                  "First retry delay of a failed deletion-notice webhook delivery, doubling up to an hour")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--ledger-head-interval-s", *ledger_head_interval_s,
                  "Sign a notice-ledger tree head this often when the ledger grew (docs/ledger.md)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  cmd->add_option("--web-port", *web_port,
                  "Serve the web interface (docs/web.md) on this port of the --listen address (0 = any free port); "
                  "default: none")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--web-root", *web_root, "The built web pages (default: web/ beside the executable)");
  cmd->add_option("--web-public-url", *web_public_url,
                  "The URL people use for the web interface, e.g. https://files.example.org behind a TLS proxy "
                  "(CSRF origin checks; https makes the session cookie Secure)");
  cmd->callback([=] {
    *run = [=]() -> int {
      gateway::GatewayOptions o = *options;
      o.multipart_upload_expiry = std::chrono::seconds(*multipart_expiry_s);
      o.ledger_head_interval = std::chrono::seconds(*ledger_head_interval_s);
      o.deletion_notice_min_wait = std::chrono::seconds(*deletion_wait_s);
      o.notice_retry_base = std::chrono::milliseconds(*notice_retry_ms);
      if (!SplitHostPort(*listen, &o.listen_address, &o.port)) {
        std::cerr << "holdfast gateway: --listen must be host:port, got '" << *listen << "'\n";
        return 2;
      }
      o.cluster_secret = ReadClusterSecret(*secret_file);
      if (o.cluster_secret.empty()) {
        std::cerr << "holdfast gateway: no cluster secret: set HOLDFAST_CLUSTER_SECRET or --secret-file\n";
        return 2;
      }
      if (*web_port >= 0) {
        // On the address of --listen: one host, two ports (docs/web.md).
        o.web_port = static_cast<uint16_t>(*web_port);
        web::WebOptions web_options;
        web_options.root = web_root->empty() ? DefaultWebRoot() : std::filesystem::path(*web_root);
        web_options.public_url = *web_public_url;
        const std::string host = o.listen_address;
        o.web_handler = [web_options, host](gateway::GatewayContext& context, uint16_t s3_port) mutable {
          web_options.s3_endpoint = "http://" + host + ":" + std::to_string(s3_port);
          return web::MakeWebHandler(context, web_options);
        };
      }
      if (!policy->empty()) o.policy = placement::DurabilityPolicy{(*policy)[0], (*policy)[1]};
      o.shard_loss_grace = std::chrono::milliseconds(*loss_grace_ms);
      o.repair_bytes_per_second = *repair_mib_per_s << 20;
      o.drain_bytes_per_second = *drain_mib_per_s << 20;
      o.meta_backup_interval = std::chrono::seconds(*meta_backup_interval_s);
      BlockStopSignals();
      auto gw = gateway::Gateway::Start(o);
      if (!gw) {
        std::cerr << "holdfast gateway: " << gw.error().message << "\n";
        return 1;
      }
      HF_LOG_INFO("serving S3 on http://{}:{}", o.listen_address, (*gw)->port());
      if ((*gw)->web_port() != 0) HF_LOG_INFO("serving the web interface on http://{}:{}/", o.listen_address, (*gw)->web_port());
      WaitForStopSignal();
      (*gw)->Stop();
      return 0;
    };
  });
}

std::filesystem::path DefaultWebRoot() {
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path("web") : exe.parent_path() / "web";
}

}  // namespace holdfast::cli
