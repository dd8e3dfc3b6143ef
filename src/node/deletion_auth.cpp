#include "node/deletion_auth.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/digest.h"
#include "common/log.h"
#include "ledger/signing.h"

namespace holdfast::node {
namespace {

constexpr const char* kPinFileName = "gateway-deletion-key";

bool IsKeyHex(std::string_view hex) {
  return hex.size() == 64 && hex.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

Status Io(const std::string& what) { return MakeError(Errc::kIo, what + ": " + std::strerror(errno)); }

}  // namespace

std::string DeletionMessage(std::string_view node_id, std::string_view shard_id, int64_t expires_unix_ms) {
  std::string message = "holdfast-shard-delete-v1";
  message.push_back('\0');
  message += node_id;
  message.push_back('\0');
  message += shard_id;
  message.push_back('\0');
  message += std::to_string(expires_unix_ms);
  return message;
}

Result<std::unique_ptr<DeletionKeyPin>> DeletionKeyPin::Open(const std::filesystem::path& data_dir,
                                                             const std::string& trusted_key_hex) {
  std::unique_ptr<DeletionKeyPin> pin(new DeletionKeyPin(data_dir / kPinFileName));
  if (!trusted_key_hex.empty()) {
    if (!IsKeyHex(trusted_key_hex)) {
      return MakeError(Errc::kInvalidArgument,
                       "--trust-deletion-key must be 64 lower-case hex digits (the gateway's deletion public key)");
    }
    if (Status written = pin->Write(trusted_key_hex); !written) return written.error();
    pin->pinned_hex_ = trusted_key_hex;
    return pin;
  }
  std::ifstream in(pin->file_);
  if (!in) return pin;  // nothing pinned yet
  std::string line;
  std::getline(in, line);
  if (!IsKeyHex(line)) {
    return MakeError(Errc::kCorrupt, pin->file_.string() + " does not hold a deletion key (64 hex digits)");
  }
  pin->pinned_hex_ = line;
  return pin;
}

Status DeletionKeyPin::Write(const std::string& key_hex) {
  const std::filesystem::path tmp = file_.string() + ".tmp";
  const std::string text = key_hex + "\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Io("cannot create " + tmp.string());
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Io("cannot write " + tmp.string());
  if (::rename(tmp.c_str(), file_.c_str()) != 0) return Io("cannot rename " + tmp.string());
  int dir = ::open(file_.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return Io("cannot open " + file_.parent_path().string());
  const bool synced = ::fsync(dir) == 0;
  ::close(dir);
  if (!synced) return Io("cannot fsync " + file_.parent_path().string());
  return Status::Ok();
}

void DeletionKeyPin::Offer(const std::string& key_hex) {
  if (!IsKeyHex(key_hex)) return;
  std::lock_guard lock(mu_);
  if (!pinned_hex_) {
    if (Status written = Write(key_hex); !written) {
      HF_LOG_ERROR("cannot pin the gateway's deletion key: {}", written.error().message);
      return;
    }
    pinned_hex_ = key_hex;
    HF_LOG_INFO("pinned the gateway's deletion key {} in {}", key_hex, file_.string());
    return;
  }
  if (*pinned_hex_ != key_hex && !mismatch_logged_) {
    mismatch_logged_ = true;
    HF_LOG_ERROR("the gateway announces deletion key {} but {} is pinned: this node deletes nothing signed by "
                 "the new key; if the gateway's key really changed, restart the node with "
                 "--trust-deletion-key {}",
                 key_hex, *pinned_hex_, key_hex);
  }
}

std::optional<std::string> DeletionKeyPin::pinned_hex() const {
  std::lock_guard lock(mu_);
  return pinned_hex_;
}

Status DeletionKeyPin::Check(std::string_view node_id, std::string_view shard_id, std::string_view header,
                             int64_t now_unix_ms) const {
  const std::optional<std::string> pinned = pinned_hex();
  auto refuse = [](const std::string& why) { return MakeError(Errc::kPermission, "deletion refused: " + why); };
  if (!pinned) return refuse("this node has not pinned the gateway's deletion key yet");
  if (header.empty()) {
    return refuse(std::string("no ") + std::string(kDeletionHeader) +
                  " header: only the gateway can authorise destroying a shard");
  }
  const size_t space = header.find(' ');
  if (space == std::string_view::npos) return refuse("malformed authorisation");
  const std::string_view expires_text = header.substr(0, space);
  const std::string_view signature_hex = header.substr(space + 1);
  int64_t expires = 0;
  auto [end, error] = std::from_chars(expires_text.data(), expires_text.data() + expires_text.size(), expires);
  if (error != std::errc() || end != expires_text.data() + expires_text.size()) {
    return refuse("malformed expiry in the authorisation");
  }
  if (expires < now_unix_ms) return refuse("the authorisation expired");
  if (expires > now_unix_ms + std::chrono::milliseconds(kMaxDeletionLifetime).count()) {
    return refuse("the authorisation is valid for longer than allowed");
  }
  std::string key_bytes;
  std::string signature_bytes;
  if (!ParseHex(*pinned, &key_bytes) || key_bytes.size() != 32 || !ParseHex(signature_hex, &signature_bytes) ||
      signature_bytes.size() != 64) {
    return refuse("malformed signature");
  }
  ledger::PublicKey key{};
  ledger::Signature signature{};
  std::memcpy(key.data(), key_bytes.data(), key.size());
  std::memcpy(signature.data(), signature_bytes.data(), signature.size());
  if (!ledger::VerifySignature(key, DeletionMessage(node_id, shard_id, expires), signature)) {
    return refuse("the signature does not verify with the pinned gateway key for this node and shard");
  }
  return Status::Ok();
}

}  // namespace holdfast::node
