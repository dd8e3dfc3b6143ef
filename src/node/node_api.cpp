#include "node/node_api.h"

#include <nlohmann/json.hpp>

namespace holdfast::node {

std::string EncodeHeartbeat(const Heartbeat& h) {
  nlohmann::json j = {{"id", h.id},
                      {"provider", h.provider},
                      {"site", h.site},
                      {"endpoint", h.endpoint},
                      {"capacity_bytes", h.capacity_bytes},
                      {"available_bytes", h.available_bytes},
                      {"used_bytes", h.used_bytes},
                      {"shard_count", h.shard_count},
                      {"read_only", h.read_only}};
  return j.dump();
}

Result<Heartbeat> DecodeHeartbeat(std::string_view json) {
  try {
    auto j = nlohmann::json::parse(json);
    Heartbeat h;
    h.id = j.at("id").get<std::string>();
    h.provider = j.at("provider").get<std::string>();
    h.site = j.at("site").get<std::string>();
    h.endpoint = j.at("endpoint").get<std::string>();
    h.capacity_bytes = j.value("capacity_bytes", uint64_t{0});
    h.available_bytes = j.value("available_bytes", uint64_t{0});
    h.used_bytes = j.value("used_bytes", uint64_t{0});
    h.shard_count = j.value("shard_count", uint64_t{0});
    h.read_only = j.value("read_only", false);
    if (!IsValidLabel(h.id) || !IsValidLabel(h.provider) || !IsValidLabel(h.site)) {
      return MakeError(Errc::kInvalidArgument, "heartbeat has an invalid node id, provider or site");
    }
    return h;
  } catch (const std::exception& e) {
    return MakeError(Errc::kInvalidArgument, std::string("malformed heartbeat: ") + e.what());
  }
}

bool IsValidLabel(std::string_view label) {
  if (label.empty() || label.size() > 64) return false;
  for (char c : label) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace holdfast::node
