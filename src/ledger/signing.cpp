#include "ledger/signing.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/digest.h"

namespace holdfast::ledger {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTreeHeadDomain = "holdfast-ledger-tree-head-v1";

void PutBigEndian64(uint64_t value, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((value >> shift) & 0xff));
}

template <size_t N>
bool ParseFixedHex(std::string_view hex, std::array<uint8_t, N>* out) {
  std::string bytes;
  if (hex.size() != 2 * N || !ParseHex(hex, &bytes)) return false;
  std::memcpy(out->data(), bytes.data(), N);
  return true;
}

Error IoError(const std::string& what, const fs::path& path) {
  return MakeError(Errc::kIo, what + " " + path.string() + ": " + std::strerror(errno));
}

Status WriteNewKeyFile(const fs::path& path, const std::string& text) {
  // O_EXCL: never overwrite a key someone else just wrote (or an old one).
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) return MakeError(Errc::kAlreadyExists, path.string() + " exists");
  if (fd < 0) return IoError("cannot create the ledger key file", path);
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  const Error error = IoError("cannot write the ledger key file", path);
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    return error;
  }
  // The directory entry must be durable too, or a crash loses the key that
  // signed tree heads already handed out.
  const int dir = ::open(path.parent_path().empty() ? "." : path.parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return Status::Ok();
}

}  // namespace

struct SigningKey::Impl {
  EVP_PKEY* pkey = nullptr;
  std::array<uint8_t, 32> seed{};
  ~Impl() { EVP_PKEY_free(pkey); }
};

std::string HexOf(std::span<const uint8_t> bytes) { return HexLower(bytes); }

bool ParsePublicKey(std::string_view hex, PublicKey* out) { return ParseFixedHex(hex, out); }
bool ParseSignature(std::string_view hex, Signature* out) { return ParseFixedHex(hex, out); }

std::string KeyId(const PublicKey& key) { return HexLower(Sha256(key)).substr(0, 16); }

bool VerifySignature(const PublicKey& key, std::span<const uint8_t> message, const Signature& signature) {
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.data(), key.size());
  if (pkey == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey) == 1 &&
            EVP_DigestVerify(ctx, signature.data(), signature.size(), message.data(), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return ok;
}

Result<SigningKey> SigningKey::FromSeed(std::span<const uint8_t> seed) {
  if (seed.size() != 32) return MakeError(Errc::kInvalidArgument, "an Ed25519 private key is 32 bytes");
  auto impl = std::make_shared<Impl>();
  std::memcpy(impl->seed.data(), seed.data(), 32);
  impl->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size());
  if (impl->pkey == nullptr) return MakeError(Errc::kInternal, "OpenSSL refused the Ed25519 key");
  SigningKey key;
  size_t length = key.public_key_.size();
  if (EVP_PKEY_get_raw_public_key(impl->pkey, key.public_key_.data(), &length) != 1 || length != 32) {
    return MakeError(Errc::kInternal, "OpenSSL did not derive the Ed25519 public key");
  }
  key.impl_ = std::move(impl);
  return key;
}

Result<SigningKey> SigningKey::Generate() {
  std::array<uint8_t, 32> seed{};
  if (RAND_bytes(seed.data(), seed.size()) != 1) return MakeError(Errc::kInternal, "no randomness for a key");
  return FromSeed(seed);
}

Signature SigningKey::Sign(std::span<const uint8_t> message) const {
  Signature signature{};
  size_t length = signature.size();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, impl_->pkey) == 1 &&
                  EVP_DigestSign(ctx, signature.data(), &length, message.data(), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  // Signing with a valid Ed25519 key cannot fail short of memory exhaustion.
  if (!ok || length != signature.size()) std::abort();
  return signature;
}

std::string SigningKey::seed_hex() const { return HexLower(impl_->seed); }

Result<SigningKey> LoadOrCreateKeyFile(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    if (errno != ENOENT) return IoError("cannot stat the ledger key file", path);
    auto key = SigningKey::Generate();
    if (!key) return key.error();
    Status written = WriteNewKeyFile(path, key->seed_hex() + "\n");
    if (written) return key;
    if (written.error().code != Errc::kAlreadyExists) return written.error();
    // Lost a race with another process creating it: use theirs.
    if (::stat(path.c_str(), &info) != 0) return IoError("cannot stat the ledger key file", path);
  }
  if ((info.st_mode & 077) != 0) {
    return MakeError(Errc::kPermission, "the ledger key file " + path.string() +
                                            " may be read by group or others; chmod 600 it");
  }
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return IoError("cannot read the ledger key file", path);
  std::string seed;
  if (line.size() != 64 || !ParseHex(line, &seed)) {
    return MakeError(Errc::kCorrupt, "the ledger key file " + path.string() + " does not hold 64 hex digits");
  }
  return SigningKey::FromSeed(AsBytes(seed));
}

std::string TreeHeadSigningInput(const TreeHead& head) {
  std::string input(kTreeHeadDomain);
  input.push_back('\0');
  PutBigEndian64(head.tree_size, &input);
  PutBigEndian64(static_cast<uint64_t>(head.timestamp_ms), &input);
  input.append(reinterpret_cast<const char*>(head.root_hash.data()), head.root_hash.size());
  input.append(reinterpret_cast<const char*>(head.previous_head_hash.data()), head.previous_head_hash.size());
  return input;
}

Hash TreeHeadHash(const TreeHead& head) { return Sha256(AsBytes(TreeHeadSigningInput(head))); }

TreeHead SignTreeHead(const SigningKey& key, uint64_t tree_size, int64_t timestamp_ms, const Hash& root_hash,
                      const Hash& previous_head_hash) {
  TreeHead head;
  head.tree_size = tree_size;
  head.timestamp_ms = timestamp_ms;
  head.root_hash = root_hash;
  head.previous_head_hash = previous_head_hash;
  head.signature = key.Sign(TreeHeadSigningInput(head));
  return head;
}

bool VerifyTreeHead(const PublicKey& key, const TreeHead& head) {
  if (head.timestamp_ms < 0) return false;
  return VerifySignature(key, TreeHeadSigningInput(head), head.signature);
}

nlohmann::json TreeHeadToJson(const TreeHead& head) {
  nlohmann::json json = nlohmann::json::object();
  json["tree_size"] = head.tree_size;
  json["timestamp_ms"] = head.timestamp_ms;
  json["root_hash"] = ToHex(head.root_hash);
  json["previous_head_hash"] = ToHex(head.previous_head_hash);
  json["signature"] = HexLower(head.signature);
  return json;
}

Result<TreeHead> TreeHeadFromJson(const nlohmann::json& json) {
  if (!json.is_object()) return MakeError(Errc::kCorrupt, "a tree head must be a JSON object");
  TreeHead head;
  const auto size = json.find("tree_size");
  if (size == json.end() || !size->is_number_integer() || size->get<int64_t>() < 0) {
    return MakeError(Errc::kCorrupt, "'tree_size' is missing or not an integer >= 0");
  }
  head.tree_size = size->get<uint64_t>();
  const auto timestamp = json.find("timestamp_ms");
  if (timestamp == json.end() || !timestamp->is_number_integer() || timestamp->get<int64_t>() < 0) {
    return MakeError(Errc::kCorrupt, "'timestamp_ms' is missing or not an integer >= 0");
  }
  head.timestamp_ms = timestamp->get<int64_t>();
  const auto root = json.find("root_hash");
  if (root == json.end() || !root->is_string() || !ParseHash(root->get<std::string>(), &head.root_hash)) {
    return MakeError(Errc::kCorrupt, "'root_hash' is missing or not 64 hex digits");
  }
  const auto previous = json.find("previous_head_hash");
  if (previous == json.end() || !previous->is_string() ||
      !ParseHash(previous->get<std::string>(), &head.previous_head_hash)) {
    return MakeError(Errc::kCorrupt, "'previous_head_hash' is missing or not 64 hex digits");
  }
  const auto signature = json.find("signature");
  if (signature == json.end() || !signature->is_string() ||
      !ParseSignature(signature->get<std::string>(), &head.signature)) {
    return MakeError(Errc::kCorrupt, "'signature' is missing or not 128 hex digits");
  }
  return head;
}

}  // namespace holdfast::ledger
