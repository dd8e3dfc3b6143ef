#include "web/passwords.h"

#include <argon2.h>
#include <openssl/rand.h>

#include <vector>

namespace holdfast::web {
namespace {

constexpr uint32_t kPasses = 2;
constexpr uint32_t kMemoryKib = 19456;
constexpr uint32_t kLanes = 1;
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;

}  // namespace

Result<std::string> HashPassword(std::string_view password) {
  uint8_t salt[kSaltBytes];
  if (RAND_bytes(salt, sizeof salt) != 1) return MakeError(Errc::kInternal, "no random bytes for a password salt");
  std::vector<char> encoded(
      argon2_encodedlen(kPasses, kMemoryKib, kLanes, kSaltBytes, kHashBytes, Argon2_id) + 1);
  int rc = argon2id_hash_encoded(kPasses, kMemoryKib, kLanes, password.data(), password.size(), salt, sizeof salt,
                                 kHashBytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return MakeError(Errc::kInternal, std::string("argon2id: ") + argon2_error_message(rc));
  return std::string(encoded.data());
}

bool VerifyPassword(const std::string& encoded_hash, std::string_view password) {
  if (!encoded_hash.starts_with("$argon2id$")) return false;
  return argon2id_verify(encoded_hash.c_str(), password.data(), password.size()) == ARGON2_OK;
}

}  // namespace holdfast::web
