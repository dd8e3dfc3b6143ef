#include "node/node_api.h"

#include <nlohmann/json.hpp>

#include "storage/shard_store.h"

namespace holdfast::node {

namespace {

nlohmann::json ScrubJson(const ScrubStats& s) {
  return {{"rate_limit_bytes_per_second", s.rate_limit_bytes_per_second},
          {"bytes_verified", s.bytes_verified},
          {"shards_verified", s.shards_verified},
          {"corrupt_found", s.corrupt_found},
          {"read_errors", s.read_errors},
          {"passes_completed", s.passes_completed},
          {"last_pass_completed_unix_ms", s.last_pass_completed_unix_ms}};
}

ScrubStats ScrubFromJson(const nlohmann::json& j) {
  ScrubStats s;
  s.rate_limit_bytes_per_second = j.value("rate_limit_bytes_per_second", uint64_t{0});
  s.bytes_verified = j.value("bytes_verified", uint64_t{0});
  s.shards_verified = j.value("shards_verified", uint64_t{0});
  s.corrupt_found = j.value("corrupt_found", uint64_t{0});
  s.read_errors = j.value("read_errors", uint64_t{0});
  s.passes_completed = j.value("passes_completed", uint64_t{0});
  s.last_pass_completed_unix_ms = j.value("last_pass_completed_unix_ms", int64_t{0});
  return s;
}

}  // namespace

std::string EncodeHeartbeat(const Heartbeat& h) {
  nlohmann::json j = {{"id", h.id},
                      {"provider", h.provider},
                      {"site", h.site},
                      {"endpoint", h.endpoint},
                      {"capacity_bytes", h.capacity_bytes},
                      {"available_bytes", h.available_bytes},
                      {"used_bytes", h.used_bytes},
                      {"shard_count", h.shard_count},
                      {"read_only", h.read_only},
                      {"boot_id", h.boot_id},
                      {"scrub", ScrubJson(h.scrub)},
                      {"corrupt_shards", h.corrupt_shards}};
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
    h.boot_id = j.value("boot_id", std::string());
    if (auto scrub = j.find("scrub"); scrub != j.end() && scrub->is_object()) {
      h.scrub = ScrubFromJson(*scrub);
    }
    if (auto corrupt = j.find("corrupt_shards"); corrupt != j.end()) {
      h.corrupt_shards = corrupt->get<std::vector<std::string>>();
    }
    if (!IsValidLabel(h.id) || !IsValidLabel(h.provider) || !IsValidLabel(h.site)) {
      return MakeError(Errc::kInvalidArgument, "heartbeat has an invalid node id, provider or site");
    }
    if (h.corrupt_shards.size() > kMaxCorruptShardsPerHeartbeat) {
      return MakeError(Errc::kInvalidArgument,
                       "heartbeat reports " + std::to_string(h.corrupt_shards.size()) +
                           " corrupt shards; at most " +
                           std::to_string(kMaxCorruptShardsPerHeartbeat) + " are allowed");
    }
    for (const std::string& id : h.corrupt_shards) {
      if (!storage::IsValidShardId(id)) {
        return MakeError(Errc::kInvalidArgument, "heartbeat reports an invalid corrupt shard id");
      }
    }
    return h;
  } catch (const std::exception& e) {
    return MakeError(Errc::kInvalidArgument, std::string("malformed heartbeat: ") + e.what());
  }
}

std::string EncodeHeartbeatReply(const HeartbeatReply& reply) {
  nlohmann::json j = {{"ok", true},
                      {"acknowledged_corrupt_shards", reply.acknowledged_corrupt_shards}};
  if (!reply.deletion_key_hex.empty()) j["deletion_key"] = reply.deletion_key_hex;
  return j.dump();
}

Result<HeartbeatReply> DecodeHeartbeatReply(std::string_view json) {
  try {
    auto j = nlohmann::json::parse(json);
    HeartbeatReply reply;
    // A gateway that predates scrub reports answers {"ok": true}: nothing
    // is acknowledged, and the node keeps its reports.
    if (auto acked = j.find("acknowledged_corrupt_shards"); acked != j.end()) {
      reply.acknowledged_corrupt_shards = acked->get<std::vector<std::string>>();
    }
    if (auto key = j.find("deletion_key"); key != j.end()) reply.deletion_key_hex = key->get<std::string>();
    return reply;
  } catch (const std::exception& e) {
    return MakeError(Errc::kInvalidArgument, std::string("malformed heartbeat reply: ") + e.what());
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
