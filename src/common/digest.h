// Message digests used on the request path: MD5 (S3 ETags), SHA-256 and
// HMAC-SHA-256 (SigV4), all over OpenSSL 3; plus hex helpers.
//
// The streaming classes are move-only and not thread-safe; use one per stream.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace holdfast {

using Md5Digest = std::array<uint8_t, 16>;
using Sha256Digest = std::array<uint8_t, 32>;

std::string HexLower(std::span<const uint8_t> bytes);
// Returns false if `hex` is not an even-length string of hex digits.
bool ParseHex(std::string_view hex, std::string* out);

std::string Base64Encode(std::span<const uint8_t> bytes);
// Returns false on malformed input.
bool Base64Decode(std::string_view text, std::string* out);

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class Md5Stream {
 public:
  Md5Stream();
  ~Md5Stream();
  Md5Stream(Md5Stream&&) noexcept;
  Md5Stream& operator=(Md5Stream&&) noexcept;
  void Update(std::span<const uint8_t> bytes);
  Md5Digest Finish();  // the stream must not be updated afterwards

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(Sha256Stream&&) noexcept;
  Sha256Stream& operator=(Sha256Stream&&) noexcept;
  void Update(std::span<const uint8_t> bytes);
  Sha256Digest Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Sha256Digest Sha256(std::span<const uint8_t> bytes);
Sha256Digest HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> message);
Md5Digest Md5(std::span<const uint8_t> bytes);

// Constant-time equality, for comparing secrets and signatures.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// `count` random bytes from the OS CSPRNG, as lower-case hex.
std::string RandomHex(size_t count);

}  // namespace holdfast
