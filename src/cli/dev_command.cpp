// `holdfast dev`: a whole cluster on loopback for trying Holdfast out and for
// end-to-end tests. The gateway runs in this process; every node is a child
// process (`holdfast node`), so scripts can kill -9 a provider's nodes.
// The file format of DIR/dev.json is in docs/dev-json.md.
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "common/digest.h"
#include "common/log.h"
#include "gateway/gateway.h"
#include "web/web.h"

namespace holdfast::cli {
namespace {

namespace fs = std::filesystem;

struct DevOptions {
  fs::path data_dir = ".holdfast-dev";
  uint16_t port = 9000;
  int web_port = -1;  // -1: port + 1 (or any free port when port is 0); 0: any free port
  std::string web_root;  // "": DefaultWebRoot()
  int providers = 3;
  int nodes_per_provider = 3;
  int heartbeat_ms = 500;
  int64_t loss_grace_ms = 3000;  // short, so a demo shows repair within seconds
  uint64_t repair_mib_per_s = 256;
  uint64_t drain_mib_per_s = 256;
  int64_t meta_backup_interval_s = 300;  // a demo shows backups within minutes
  int64_t multipart_expiry_s = 7 * 24 * 3600;
  int64_t ledger_head_interval_s = 60;
  int64_t deletion_wait_s = 60;
  int64_t notice_retry_ms = 1000;
  uint64_t scrub_mib_per_s = 16;
  int64_t scrub_interval_s = 600;  // shorter than a node's default week: a demo shows it
};

struct DevCredentials {
  std::string cluster_secret;
  std::string access_key;
  std::string secret_key;
};

struct DevNode {
  std::string id, provider, site;
  fs::path data_dir;
  pid_t pid = -1;
  uint16_t port = 0;
};

// Keys are made once per data directory and kept, so a restart serves the
// same credentials and the same data.
DevCredentials LoadOrCreateCredentials(const fs::path& dir) {
  fs::path file = dir / "credentials.json";
  if (fs::exists(file)) {
    auto j = nlohmann::json::parse(std::ifstream(file));
    return {j.at("cluster_secret"), j.at("access_key"), j.at("secret_key")};
  }
  std::string id = RandomHex(10);
  for (char& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  DevCredentials creds{RandomHex(32), "HF" + id, RandomHex(20)};
  nlohmann::json j = {{"cluster_secret", creds.cluster_secret},
                      {"access_key", creds.access_key},
                      {"secret_key", creds.secret_key}};
  std::ofstream(file) << j.dump(2) << "\n";
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
  return creds;
}

std::string ProviderName(int index) { return std::string("provider-") + char('a' + index); }

// Starts `holdfast node` as a child. Everything the child needs is prepared
// before fork(): the gateway's threads are running, so between fork and exec
// the child may only make async-signal-safe calls.
pid_t SpawnNode(const DevNode& node, uint16_t gateway_port, const DevCredentials& creds,
                const DevOptions& options) {
  std::string log = (options.data_dir / "logs" / (node.id + ".log")).string();
  std::vector<std::string> args = {"holdfast", "node", "--id", node.id, "--provider", node.provider,
                                   "--site", node.site, "--data-dir", node.data_dir.string(),
                                   "--listen", "127.0.0.1:0",
                                   "--gateway", "127.0.0.1:" + std::to_string(gateway_port),
                                   "--heartbeat-ms", std::to_string(options.heartbeat_ms),
                                   "--scrub-mib-per-s", std::to_string(options.scrub_mib_per_s),
                                   "--scrub-interval-s", std::to_string(options.scrub_interval_s)};
  std::vector<std::string> env = {"HOLDFAST_CLUSTER_SECRET=" + creds.cluster_secret};
  for (char** e = environ; *e != nullptr; ++e) {
    if (!std::string_view(*e).starts_with("HOLDFAST_CLUSTER_SECRET=")) env.emplace_back(*e);
  }
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  sigset_t none;
  sigemptyset(&none);

  pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // die with the dev process
  pthread_sigmask(SIG_SETMASK, &none, nullptr);
  int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd >= 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
  }
  close_range(3, ~0U, 0);  // no inherited gateway sockets in the node
  execve("/proc/self/exe", argv.data(), envp.data());
  _exit(127);
}

// Waits until every node has sent a heartbeat; fills in their ports.
bool WaitForNodes(gateway::Gateway& gw, std::vector<DevNode>& nodes, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    size_t up = 0;
    for (DevNode& node : nodes) {
      for (const auto& view : gw.Nodes()) {
        if (view.record.id != node.id || view.health != gateway::NodeHealth::kUp) continue;
        node.port = static_cast<uint16_t>(std::stoi(view.record.endpoint.substr(view.record.endpoint.rfind(':') + 1)));
        ++up;
      }
    }
    if (up == nodes.size()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void WriteDevJson(const DevOptions& options, const std::string& endpoint, const std::string& web_url,
                  const DevCredentials& creds, const std::vector<DevNode>& nodes) {
  nlohmann::json j = {{"endpoint", endpoint},
                      {"web_url", web_url},
                      {"access_key", creds.access_key},
                      {"secret_key", creds.secret_key},
                      {"region", "us-east-1"},
                      {"gateway_pid", getpid()},
                      {"nodes", nlohmann::json::array()}};
  for (const DevNode& node : nodes) {
    j["nodes"].push_back({{"id", node.id},
                          {"provider", node.provider},
                          {"site", node.site},
                          {"port", node.port},
                          {"pid", node.pid},
                          {"data_dir", fs::absolute(node.data_dir).string()}});
  }
  fs::path tmp = options.data_dir / "dev.json.tmp";
  std::ofstream(tmp) << j.dump(2) << "\n";
  fs::rename(tmp, options.data_dir / "dev.json");
}

// Stops the nodes: SIGTERM, then SIGKILL for any still there after 5 s.
void StopNodes(std::vector<DevNode>& nodes) {
  for (const DevNode& node : nodes) {
    if (node.pid > 0) kill(node.pid, SIGTERM);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (DevNode& node : nodes) {
    while (node.pid > 0) {
      pid_t done = waitpid(node.pid, nullptr, WNOHANG);
      if (done == node.pid || done < 0) {
        node.pid = -1;
      } else if (std::chrono::steady_clock::now() > deadline) {
        kill(node.pid, SIGKILL);
        waitpid(node.pid, nullptr, 0);
        node.pid = -1;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }
}

// Until SIGINT/SIGTERM: reap nodes that exit (they are not restarted: a
// test that kills a provider wants it to stay dead).
void Supervise(std::vector<DevNode>& nodes) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  while (true) {
    timespec wait{0, 200 * 1000 * 1000};
    int signal = sigtimedwait(&set, nullptr, &wait);
    if (signal == SIGINT || signal == SIGTERM) {
      HF_LOG_INFO("signal {}: stopping the dev cluster", signal);
      return;
    }
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      for (DevNode& node : nodes) {
        if (node.pid != pid) continue;
        HF_LOG_WARN("node {} (pid {}) exited ({}); not restarting it", node.id, pid,
                    WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                        : "status " + std::to_string(WEXITSTATUS(status)));
        node.pid = -1;
      }
    }
  }
}

int RunDev(const DevOptions& options) {
  SetLogComponent("dev");
  if (options.providers < 1 || options.nodes_per_provider < 1 || options.providers > 26) {
    std::cerr << "holdfast dev: --providers must be 1..26 and --nodes-per-provider at least 1\n";
    return 2;
  }
  fs::create_directories(options.data_dir / "logs");
  DevCredentials creds = LoadOrCreateCredentials(options.data_dir);
  BlockStopSignals();

  gateway::GatewayOptions gw_options;
  gw_options.data_dir = options.data_dir / "gateway";
  gw_options.port = options.port;
  gw_options.cluster_secret = creds.cluster_secret;
  gw_options.access_key_id = creds.access_key;
  gw_options.secret_key = creds.secret_key;
  gw_options.heartbeat_timeout = std::chrono::milliseconds(options.heartbeat_ms * 4);
  gw_options.shard_loss_grace = std::chrono::milliseconds(options.loss_grace_ms);
  gw_options.repair_bytes_per_second = options.repair_mib_per_s << 20;
  gw_options.drain_bytes_per_second = options.drain_mib_per_s << 20;
  gw_options.meta_backup_interval = std::chrono::seconds(options.meta_backup_interval_s);
  gw_options.multipart_upload_expiry = std::chrono::seconds(options.multipart_expiry_s);
  gw_options.ledger_head_interval = std::chrono::seconds(options.ledger_head_interval_s);
  gw_options.deletion_notice_min_wait = std::chrono::seconds(options.deletion_wait_s);
  gw_options.notice_retry_base = std::chrono::milliseconds(options.notice_retry_ms);
  gw_options.web_port = options.web_port >= 0 ? static_cast<uint16_t>(options.web_port)
                        : options.port == 0  ? 0
                                             : static_cast<uint16_t>(options.port + 1);
  web::WebOptions web_options;
  web_options.root = options.web_root.empty() ? DefaultWebRoot() : fs::path(options.web_root);
  gw_options.web_handler = [web_options](gateway::GatewayContext& context, uint16_t s3_port) mutable {
    web_options.s3_endpoint = "http://127.0.0.1:" + std::to_string(s3_port);
    return web::MakeWebHandler(context, web_options);
  };
  auto gw = gateway::Gateway::Start(gw_options);
  if (!gw) {
    std::cerr << "holdfast dev: cannot start the gateway: " << gw.error().message << "\n";
    return 1;
  }
  SetLogComponent("dev");
  std::vector<DevNode> nodes;
  for (int p = 0; p < options.providers; ++p) {
    for (int n = 0; n < options.nodes_per_provider; ++n) {
      DevNode node;
      node.provider = ProviderName(p);
      node.id = std::string(1, char('a' + p)) + std::to_string(n + 1);
      node.site = node.provider + "-dc1";
      node.data_dir = options.data_dir / "nodes" / node.id;
      node.pid = SpawnNode(node, (*gw)->port(), creds, options);
      nodes.push_back(node);
    }
  }
  if (!WaitForNodes(**gw, nodes, std::chrono::seconds(30))) {
    std::cerr << "holdfast dev: nodes did not come up within 30 s; see " << (options.data_dir / "logs").string() << "\n";
    StopNodes(nodes);
    (*gw)->Stop();
    return 1;
  }
  std::string endpoint = "http://127.0.0.1:" + std::to_string((*gw)->port());
  std::string web_url = "http://127.0.0.1:" + std::to_string((*gw)->web_port()) + "/";
  WriteDevJson(options, endpoint, web_url, creds, nodes);
  std::cout << "Holdfast dev cluster is up: " << nodes.size() << " nodes over " << options.providers
            << " providers\n"
            << "  endpoint:   " << endpoint << "\n"
            << "  web:        " << web_url << "  (operator: holdfast account create admin --operator --dev-dir "
            << options.data_dir.string() << ")\n"
            << "  access key: " << creds.access_key << "\n"
            << "  secret key: " << creds.secret_key << "\n"
            << "  data:       " << fs::absolute(options.data_dir).string() << "  (cluster map: dev.json)\n"
            << "Try: AWS_ACCESS_KEY_ID=" << creds.access_key << " AWS_SECRET_ACCESS_KEY=" << creds.secret_key
            << " aws --endpoint-url " << endpoint << " s3 mb s3://demo\n"
            << "Ctrl-C stops the cluster; the data stays for the next start.\n"
            << std::flush;
  Supervise(nodes);
  StopNodes(nodes);
  (*gw)->Stop();
  fs::remove(options.data_dir / "dev.json");
  return 0;
}

}  // namespace

void AddDevCommand(CLI::App& app, Action* run) {
  auto options = std::make_shared<DevOptions>();
  CLI::App* cmd = app.add_subcommand("dev", "Run a local cluster: a gateway and nodes over several providers");
  cmd->add_option("--data-dir", options->data_dir, "Where the cluster keeps its data (kept across restarts)");
  cmd->add_option("--port", options->port, "Gateway port (S3 endpoint)");
  cmd->add_option("--web-port", options->web_port,
                  "Web interface port (docs/web.md; default: the gateway port + 1, 0 = any free port)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--web-root", options->web_root, "The built web pages (default: web/ beside the executable)");
  cmd->add_option("--providers", options->providers, "Simulated hosting providers")->check(CLI::Range(1, 26));
  cmd->add_option("--nodes-per-provider", options->nodes_per_provider, "Nodes per provider")->check(CLI::Range(1, 64));
  cmd->add_option("--heartbeat-ms", options->heartbeat_ms, "Node heartbeat interval (a node is down after 4 missed)");
  cmd->add_option("--loss-grace-ms", options->loss_grace_ms,
                  "How long a node may be down before its shards count as lost and are rebuilt")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  cmd->add_option("--repair-mib-per-s", options->repair_mib_per_s,
                  "Rate limit for the bytes repair writes, in MiB/s")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20));
  cmd->add_option("--meta-backup-interval-s", options->meta_backup_interval_s,
                  "How often the metadata store is backed up into the cluster, in seconds; 0 = never")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  cmd->add_option("--drain-mib-per-s", options->drain_mib_per_s,
                  "Rate limit for the bytes drains and rebalances move, together, in MiB/s")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20));
  cmd->add_option("--multipart-expiry-s", options->multipart_expiry_s,
                  "Abort multipart uploads not completed this many seconds after they were created (default 7 days)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--deletion-wait-s", options->deletion_wait_s,
                  "Shortest waiting period of a deletion notice, in seconds (dev default 60; gateway: 30 days)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  cmd->add_option("--notice-retry-ms", options->notice_retry_ms,
                  "First retry delay of a failed deletion-notice webhook delivery, doubling up to an hour")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--ledger-head-interval-s", options->ledger_head_interval_s,
                  "Sign a notice-ledger tree head this often when the ledger grew (docs/ledger.md)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  cmd->add_option("--scrub-mib-per-s", options->scrub_mib_per_s,
                  "Each node's scrub rate (reading shards back to verify them), in MiB/s; 0 = off")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 20));
  cmd->add_option("--scrub-interval-s", options->scrub_interval_s,
                  "A node's scrub pass starts at most this often, in seconds (default 600)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  cmd->callback([=] { *run = [=] { return RunDev(*options); }; });
}

}  // namespace holdfast::cli
