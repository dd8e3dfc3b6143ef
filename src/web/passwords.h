// Password hashing for web accounts and password-protected share links:
// Argon2id with OWASP's minimum parameters (19 MiB, 2 passes, 1 lane), a
// random 16-byte salt, encoded as "$argon2id$v=19$m=19456,t=2,p=1$salt$hash"
// so the parameters travel with the hash and can be raised later. Hashing
// costs tens of milliseconds on purpose: call it off the I/O threads.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace holdfast::web {

Result<std::string> HashPassword(std::string_view password);
// False for a wrong password and for anything that is not an Argon2id hash.
bool VerifyPassword(const std::string& encoded_hash, std::string_view password);

}  // namespace holdfast::web
