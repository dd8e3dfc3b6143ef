// The ledger key (Ed25519, over OpenSSL 3's EVP API) and signed tree heads.
//
// A signed tree head (STH) says "the log had `tree_size` entries with this
// root hash at `timestamp_ms`, and the head signed before me was
// `previous_head_hash`", signed with the cluster's ledger key. The signature
// covers exactly these 109 bytes (docs/ledger.md):
//
//   "holdfast-ledger-tree-head-v1"  28 ASCII bytes, the domain separator
//   0x00                            1 byte
//   tree_size                       8 bytes, big-endian unsigned
//   timestamp_ms                    8 bytes, big-endian (>= 0)
//   root_hash                       32 bytes
//   previous_head_hash              32 bytes (zeros for the first head)
//
// A head's hash is SHA-256 of those 109 bytes. The prefix makes a
// tree-head signature useless as any other message; the fixed layout leaves
// nothing to canonicalise; the chain of previous-head hashes makes a head
// removed from (or inserted into) the sequence visible at the next one.
//
// Thread-safety: SigningKey is immutable after creation and may be shared.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "common/result.h"
#include "ledger/merkle.h"

namespace holdfast::ledger {

using PublicKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;

// Ed25519 verification of `message`; false on any failure.
bool VerifySignature(const PublicKey& key, std::span<const uint8_t> message, const Signature& signature);
inline bool VerifySignature(const PublicKey& key, std::string_view message, const Signature& signature) {
  return VerifySignature(key, {reinterpret_cast<const uint8_t*>(message.data()), message.size()}, signature);
}
// A short name for a key: the first 16 hex digits of SHA-256(public key).
std::string KeyId(const PublicKey& key);

class SigningKey {
 public:
  static Result<SigningKey> Generate();
  // From the 32-byte Ed25519 private key (RFC 8032's seed).
  static Result<SigningKey> FromSeed(std::span<const uint8_t> seed);
  const PublicKey& public_key() const { return public_key_; }
  Signature Sign(std::span<const uint8_t> message) const;
  Signature Sign(std::string_view message) const {
    return Sign({reinterpret_cast<const uint8_t*>(message.data()), message.size()});
  }
  std::string seed_hex() const;  // for writing the key file

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
  PublicKey public_key_{};
};

// Reads the key file at `path` (one line: 64 hex digits, the seed), or, if
// there is none, generates a key and writes it there with mode 0600 (created
// exclusively and fsynced, with its directory). kCorrupt if the file exists
// but does not hold a key; kIo on file errors. Also refuses (kPermission) a
// key file that group or others may read.
Result<SigningKey> LoadOrCreateKeyFile(const std::filesystem::path& path);

struct TreeHead {
  uint64_t tree_size = 0;
  int64_t timestamp_ms = 0;
  Hash root_hash{};
  Hash previous_head_hash{};  // TreeHeadHash of the head signed before; zeros for the first
  Signature signature{};
};

// The 109 bytes above.
std::string TreeHeadSigningInput(const TreeHead& head);
// SHA-256 of the signing input: what the next head's previous_head_hash holds.
Hash TreeHeadHash(const TreeHead& head);
TreeHead SignTreeHead(const SigningKey& key, uint64_t tree_size, int64_t timestamp_ms, const Hash& root_hash,
                      const Hash& previous_head_hash);
bool VerifyTreeHead(const PublicKey& key, const TreeHead& head);

// {"tree_size", "timestamp_ms", "root_hash", "previous_head_hash",
// "signature"} (hashes and signature in hex).
nlohmann::json TreeHeadToJson(const TreeHead& head);
// kCorrupt naming the field that is missing or malformed.
Result<TreeHead> TreeHeadFromJson(const nlohmann::json& json);

std::string HexOf(std::span<const uint8_t> bytes);
bool ParsePublicKey(std::string_view hex, PublicKey* out);   // 64 hex digits
bool ParseSignature(std::string_view hex, Signature* out);   // 128 hex digits

}  // namespace holdfast::ledger
