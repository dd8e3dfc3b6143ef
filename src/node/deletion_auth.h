// deletion_auth: a node deletes a shard only when the gateway authorised that
// very deletion (docs/node-api.md "Deleting a shard"; docs/holds.md).
//
// The cluster secret lets a caller read and write shards; it does not let
// anyone destroy one. DELETE /v1/shards/{id} must also carry
//
//   X-Holdfast-Deletion: <expires_unix_ms> <signature, 128 hex digits>
//
// an Ed25519 signature by the gateway's deletion key over
//
//   "holdfast-shard-delete-v1" 0x00 <node id> 0x00 <shard id> 0x00 <expires_unix_ms in decimal>
//
// which the gateway signs only after its metadata store said this copy may
// go: it is not the copy the catalogue records, and no hold covers its
// version (MetaStore::CheckShardCopyDeletable; removing the version row
// passed the removal guard of holds and Object Lock before the copy was
// queued). Naming the node keeps an authorisation from being replayed on
// another node; the expiry (at most kMaxLifetime ahead) bounds replay on
// the same node.
//
// Which key: the node pins the public key the gateway announces in its
// first heartbeat reply into <data dir>/gateway-deletion-key and never
// changes it on its own; a reply announcing another key is logged and
// ignored. `holdfast node --trust-deletion-key HEX` replaces the pin (after a
// gateway lost its data directory). Until a key is pinned, the node deletes
// nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace holdfast::node {

inline constexpr std::string_view kDeletionHeader = "X-Holdfast-Deletion";
inline constexpr std::chrono::minutes kMaxDeletionLifetime{15};

// The bytes the gateway signs.
std::string DeletionMessage(std::string_view node_id, std::string_view shard_id, int64_t expires_unix_ms);

class DeletionKeyPin {
 public:
  // Reads the pin file in `data_dir` (if any); `trusted_key_hex`, when not
  // empty, replaces it first. kInvalidArgument for a malformed key,
  // kCorrupt for a malformed pin file, kIo for file errors.
  static Result<std::unique_ptr<DeletionKeyPin>> Open(const std::filesystem::path& data_dir,
                                                      const std::string& trusted_key_hex);

  // The key a heartbeat reply announced: pinned if none is, else compared.
  void Offer(const std::string& key_hex);

  // Whether `header` (kDeletionHeader's value) authorises deleting
  // `shard_id` on node `node_id` at `now_unix_ms`: kPermission naming what
  // is wrong otherwise.
  Status Check(std::string_view node_id, std::string_view shard_id, std::string_view header,
               int64_t now_unix_ms) const;

  std::optional<std::string> pinned_hex() const;

 private:
  explicit DeletionKeyPin(std::filesystem::path file) : file_(std::move(file)) {}
  Status Write(const std::string& key_hex);

  const std::filesystem::path file_;
  mutable std::mutex mu_;
  std::optional<std::string> pinned_hex_;
  bool mismatch_logged_ = false;
};

}  // namespace holdfast::node
