#include "gateway/node_client.h"

#include "node/deletion_auth.h"
#include "node/shard_client.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <vector>

#include "common/digest.h"
#include "net/message.h"
#include "node/node_api.h"
#include "storage/endian.h"
#include "storage/shard_stream.h"

namespace holdfast::gateway {
namespace {

using net::Task;

constexpr std::chrono::milliseconds kRequestTimeout{30000};

std::string ShardTarget(std::string shard_id) {
  return std::string(node::kShardsPath) + shard_id;
}

class StreamingUpload final : public ShardUpload {
 public:
  explicit StreamingUpload(std::unique_ptr<net::ClientConnection> connection)
      : connection_(std::move(connection)) {}

  Task<Status> SendBlock(uint64_t block_index, uint64_t checksum,
                         std::span<const uint8_t> payload) override {
    prefix_.clear();
    storage::AppendBlockFramePrefix(block_index, checksum, static_cast<uint32_t>(payload.size()),
                                    &prefix_);
    Status sent = co_await connection_->WriteBody(AsBytes(prefix_));
    if (sent) sent = co_await connection_->WriteBody(payload);
    if (!sent) co_return co_await Failure(sent);
    co_return Status::Ok();
  }

  Task<Status> Commit(storage::ShardFooter footer) override {
    prefix_.clear();
    storage::AppendFrame(storage::FrameType::kCommit, storage::EncodeFooterJson(footer), &prefix_);
    Status sent = co_await connection_->WriteBody(AsBytes(prefix_));
    if (sent) sent = co_await connection_->FinishRequest();
    if (!sent) co_return co_await Failure(sent);
    auto head = co_await connection_->ReadResponseHead();
    if (!head) co_return head.error();
    std::string body = co_await node::ReadSmallBody(*connection_);
    if (head->status != 201) {
      co_return MakeError(node::ErrcForNodeStatus(head->status), node::NodeErrorMessage(head->status, body));
    }
    co_return Status::Ok();
  }

  void Abort() override { connection_->Close(); }

 private:
  // A write failed: the node may have answered early with the reason.
  Task<Status> Failure(const Status& write_status) {
    auto head = co_await connection_->ReadResponseHead();
    connection_->Close();
    if (head) {
      co_return MakeError(node::ErrcForNodeStatus(head->status),
                          node::NodeErrorMessage(head->status, ""));
    }
    co_return write_status;
  }

  std::unique_ptr<net::ClientConnection> connection_;
  std::string prefix_;
};

}  // namespace

NodeClient::NodeClient(std::string cluster_secret, std::chrono::milliseconds connect_timeout)
    : authorization_(node::AuthorizationValue(cluster_secret)),
      pool_(std::make_unique<net::ConnectionPool>(connect_timeout)) {}

NodeClient::~NodeClient() = default;

Task<Result<std::unique_ptr<ShardUpload>>> NodeClient::OpenUpload(
    std::string endpoint, std::string shard_id, storage::ShardFooter header) {
  // A fresh connection: a streamed body cannot be replayed if a pooled
  // connection turns out to be stale halfway through.
  auto connection = co_await net::Connect(endpoint, std::chrono::milliseconds(2000));
  if (!connection) co_return connection.error();
  net::Headers headers;
  headers.Set("Authorization", authorization_);
  headers.Set("Content-Type", "application/octet-stream");
  Status written = co_await (*connection)->WriteRequestHead("PUT", ShardTarget(shard_id), headers,
                                                            std::nullopt);
  std::string frame;
  storage::AppendFrame(storage::FrameType::kHeader, storage::EncodeFooterJson(header), &frame);
  if (written) written = co_await (*connection)->WriteBody(AsBytes(frame));
  if (!written) co_return written.error();
  co_return std::unique_ptr<ShardUpload>(std::make_unique<StreamingUpload>(std::move(*connection)));
}

Task<Status> NodeClient::PutWhole(std::string endpoint, std::string shard_id,
                                  std::string framed_body) {
  net::Headers headers;
  headers.Set("Authorization", authorization_);
  headers.Set("Content-Type", "application/octet-stream");
  auto response = co_await net::Fetch(pool_.get(), endpoint, "PUT", ShardTarget(shard_id), headers,
                                      framed_body, kRequestTimeout);
  if (!response) co_return response.error();
  if (response->status != 201) {
    co_return MakeError(node::ErrcForNodeStatus(response->status),
                        node::NodeErrorMessage(response->status, response->body));
  }
  co_return Status::Ok();
}

Task<Result<std::unique_ptr<ShardDownload>>> NodeClient::OpenDownload(
    std::string endpoint, std::string shard_id, uint64_t first_block,
    uint64_t block_count, uint32_t block_size_bytes) {
  co_return co_await node::OpenShardDownload(pool_.get(), std::move(endpoint), authorization_, std::move(shard_id),
                                             first_block, block_count, block_size_bytes);
}

Task<Status> NodeClient::Delete(std::string endpoint, std::string shard_id, std::string authorisation) {
  net::Headers headers;
  headers.Set("Authorization", authorization_);
  headers.Set(std::string(node::kDeletionHeader), authorisation);
  auto response = co_await net::Fetch(pool_.get(), endpoint, "DELETE", ShardTarget(shard_id),
                                      headers, "", kRequestTimeout);
  if (!response) co_return response.error();
  if (response->status != 204) {
    co_return MakeError(node::ErrcForNodeStatus(response->status),
                        node::NodeErrorMessage(response->status, response->body));
  }
  co_return Status::Ok();
}

Task<Result<storage::ShardFooter>> NodeClient::GetFooter(std::string endpoint,
                                                         std::string shard_id) {
  co_return co_await node::FetchShardFooter(pool_.get(), std::move(endpoint), authorization_, std::move(shard_id));
}

Task<Result<uint64_t>> NodeClient::CopyShard(std::string endpoint, std::string shard_id, std::string from_endpoint) {
  net::Headers headers;
  headers.Set("Authorization", authorization_);
  headers.Set("Content-Type", "application/json");
  const std::string body = nlohmann::json{{"from", from_endpoint}}.dump();
  // The node answers once the copy is durable: wait as long as the longest
  // transfer, like a verify. A fresh connection (no pool): Fetch retries a
  // pooled one that fails before answering, and a copy is not to be started
  // twice at once.
  auto response = co_await net::Fetch(nullptr, endpoint, "POST", ShardTarget(shard_id) + "/copy", headers, body,
                                      std::chrono::milliseconds(600000));
  if (!response) co_return response.error();
  if (response->status == 502) {
    co_return MakeError(Errc::kUnavailable, std::string(kCopySourceUnreachable) + response->body);
  }
  if (response->status != 201) {
    co_return MakeError(node::ErrcForNodeStatus(response->status),
                        node::NodeErrorMessage(response->status, response->body));
  }
  const nlohmann::json answer = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object() || !answer.contains("blocks") || !answer["blocks"].is_number_unsigned()) {
    co_return MakeError(Errc::kCorrupt, "node sent a bad copy answer");
  }
  co_return answer["blocks"].get<uint64_t>();
}

Task<Result<storage::ShardFooter>> NodeClient::VerifyShard(std::string endpoint, std::string shard_id) {
  net::Headers headers;
  headers.Set("Authorization", authorization_);
  // Reading a large shard takes a while: as long as the longest transfer.
  auto response = co_await net::Fetch(pool_.get(), endpoint, "GET", ShardTarget(shard_id) + "/verify", headers,
                                      "", std::chrono::milliseconds(600000));
  if (!response) co_return response.error();
  if (response->status != 200) {
    co_return MakeError(node::ErrcForNodeStatus(response->status), node::NodeErrorMessage(response->status, response->body));
  }
  auto footer = storage::DecodeFooterJson(response->body);
  if (!footer) co_return MakeError(Errc::kCorrupt, "node sent a bad footer: " + footer.error().message);
  co_return *footer;
}

Task<Result<ShardListPage>> NodeClient::ListShards(std::string endpoint, std::string after, int limit) {
  net::Headers headers;
  headers.Set("Authorization", authorization_);
  const std::string target = std::string(node::kShardListPath) + "?limit=" + std::to_string(limit) +
                             "&after=" + net::PercentEncode(after, false);
  auto response = co_await net::Fetch(pool_.get(), endpoint, "GET", target, headers, "", kRequestTimeout);
  if (!response) co_return response.error();
  if (response->status != 200) {
    co_return MakeError(node::ErrcForNodeStatus(response->status), node::NodeErrorMessage(response->status, response->body));
  }
  const nlohmann::json page = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (!page.is_object() || !page.contains("shards") || !page["shards"].is_array()) {
    co_return MakeError(Errc::kCorrupt, "node sent a bad shard list");
  }
  ShardListPage out;
  for (const nlohmann::json& item : page["shards"]) {
    auto footer = storage::DecodeFooterJson(item.dump());
    if (!footer) co_return MakeError(Errc::kCorrupt, "node sent a bad footer: " + footer.error().message);
    out.footers.push_back(std::move(*footer));
  }
  out.skipped = page.value("skipped", uint64_t{0});
  if (page.contains("next_after") && page["next_after"].is_string()) {
    out.next_after = page["next_after"].get<std::string>();
  }
  co_return out;
}

}  // namespace holdfast::gateway
