// Internal to s3/: helpers its .cpp files share. Most serve the two ways of
// signing a request: VerifyRequest (verify.cpp) checks header authentication
// and hands presigned URLs to VerifyPresigned (presigned.cpp); both build on
// sigv4.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "s3/s3.h"

namespace holdfast::s3 {

// How far the request time may be from the server's clock (and how far a
// presigned URL's X-Amz-Date may lie in the future), as S3 allows.
inline constexpr int64_t kMaxClockSkewMs = 15 * 60 * 1000;

std::string_view TrimBlanks(std::string_view text);  // spaces and tabs
std::string AsciiLower(std::string_view text);
bool IsSha256Hex(std::string_view text);  // 64 hex digits, either case
// "\"abc\"" -> "abc"; anything else as it is. ETags travel quoted.
inline std::string_view StripQuotes(std::string_view text) {
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    return text.substr(1, text.size() - 2);
  }
  return text;
}

// "AKID/20130524/us-east-1/s3/aws4_request". The error message says what is
// wrong, for the caller to prefix with where it was found.
Result<SigningScope> ParseCredential(std::string_view credential, std::string* access_key_id);
// "host;range;x-amz-date": lower-case header names separated by ';'.
Result<std::vector<std::string>> ParseSignedHeaders(std::string_view text);

// AccessDenied unless host and every x-amz-* header of `request` are signed.
std::optional<S3Error> CheckSignedHeaders(const net::Request& request,
                                          const std::vector<std::string>& signed_headers);
// InvalidArgument unless a 64-hex SHA-256, UNSIGNED-PAYLOAD or STREAMING-*.
std::optional<S3Error> CheckPayloadHash(std::string_view payload_hash);
// InvalidAccessKeyId for kNotFound, FromError otherwise.
std::variant<meta::AccessKey, S3Error> LookUpKey(const SecretLookup& lookup,
                                                 const std::string& access_key_id);
S3Error SignatureMismatch();

// The query-string half of VerifyRequest; `request` carries X-Amz-Algorithm
// in its query and no Authorization header.
std::variant<VerifiedRequest, S3Error> VerifyPresigned(const net::Request& request,
                                                       const SecretLookup& lookup,
                                                       int64_t now_unix_ms);

}  // namespace holdfast::s3
