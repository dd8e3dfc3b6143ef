#include "gateway/context.h"

#include <set>

namespace holdfast::gateway {

placement::DurabilityPolicy GatewayContext::PolicyFor(
    const std::vector<placement::NodeInfo>& nodes) const {
  if (settings.policy) return *settings.policy;
  std::set<std::string> providers;
  for (const auto& node : nodes) providers.insert(node.provider);
  return placement::DurabilityPolicy::DefaultFor(static_cast<int>(providers.size()),
                                                 static_cast<int>(nodes.size()));
}

Result<std::shared_ptr<const ec::Codec>> GatewayContext::Codec(int k, int m) {
  std::lock_guard lock(codec_mutex_);
  auto it = codecs_.find({k, m});
  if (it != codecs_.end()) return it->second;
  auto codec = ec::Codec::Create(k, m);
  if (!codec) return codec.error();
  codecs_[{k, m}] = *codec;
  return *codec;
}

std::optional<std::string> GatewayContext::ReachableEndpoint(const std::string& node_id) const {
  auto view = cluster.Node(node_id);
  if (!view || view->health == NodeHealth::kDown || view->record.endpoint.empty()) {
    return std::nullopt;
  }
  return view->record.endpoint;
}

std::string ShardId(const std::string& version_id, int shard_index) {
  return version_id + "." + std::to_string(shard_index);
}

}  // namespace holdfast::gateway
