// s3: the S3 protocol pieces that need no sockets and no storage — SigV4
// verification (headers and presigned URLs), S3 error documents, XML bodies,
// and naming rules. Start here for s3/. The gateway (gateway/) glues these to
// storage. The pieces of individual operations (aws-chunked bodies,
// checksums, conditional requests, multipart rules, their XML) are in
// s3/s3_ops.h.
//
// Everything here is pure and thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"
#include "meta/meta_store.h"
#include "net/message.h"

namespace holdfast::s3 {

// ---- Errors -------------------------------------------------------------
// An S3 error as the client sees it. The HTTP status for each code is chosen
// here, in one table (errors.cpp), following the AWS S3 API Reference.
struct S3Error {
  std::string code;      // e.g. "NoSuchKey"
  std::string message;   // human-readable
  std::string resource;  // e.g. "/bucket/key"
  int http_status() const;
};

S3Error MakeS3Error(std::string code, std::string message, std::string resource = {});
// The S3 error for an internal error that reached the S3 layer unhandled:
// kUnavailable -> ServiceUnavailable (503), kTooLarge -> EntityTooLarge,
// kInvalidArgument -> InvalidArgument, kPermission and kLocked -> AccessDenied,
// kNotFound -> NoSuchKey, kConflict -> OperationAborted, kPreconditionFailed ->
// PreconditionFailed, others -> InternalError.
S3Error FromError(const Error& error, std::string resource = {});
// <?xml ...?><Error><Code/><Message/><Resource/><RequestId/></Error>
std::string RenderErrorXml(const S3Error& error, std::string_view request_id);

// ---- SigV4 --------------------------------------------------------------
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
// The x-amz-content-sha256 values of aws-chunked bodies that Holdfast decodes.
inline constexpr std::string_view kStreamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
inline constexpr std::string_view kStreamingPayloadTrailer =
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
inline constexpr std::string_view kStreamingUnsignedPayloadTrailer =
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER";

struct SigningScope {
  std::string date;     // YYYYMMDD
  std::string region;
  std::string service;  // "s3"
};

// "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request,
//  SignedHeaders=host;range;x-amz-date, Signature=<64 hex>"
struct AuthorizationHeader {
  std::string access_key_id;
  SigningScope scope;
  std::vector<std::string> signed_headers;  // lower-case, as listed
  std::string signature;                    // 64 lower-case hex digits
};
Result<AuthorizationHeader> ParseAuthorizationHeader(std::string_view value);

// The canonical request of SigV4 for S3: the path is decoded and re-encoded
// once (S3 does not normalise or double-encode), query parameters sorted and
// encoded, signed headers lower-cased with values trimmed and inner spaces
// collapsed.
Result<std::string> CanonicalRequest(const net::Request& request,
                                     const std::vector<std::string>& signed_headers,
                                     std::string_view payload_hash);
std::string StringToSign(std::string_view amz_date, const SigningScope& scope,
                         std::string_view canonical_request);
std::string SigningKey(std::string_view secret_key, const SigningScope& scope);  // raw 32 bytes
std::string Signature(std::string_view signing_key, std::string_view string_to_sign);  // hex

// An aws-chunked body ("Content-Encoding: aws-chunked"), as a verified
// request declares it. AwsChunkedDecoder (s3_ops.h) decodes it.
struct ChunkedUpload {
  enum class Mode {
    kSigned,              // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
    kSignedWithTrailer,   // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
    kUnsignedWithTrailer  // STREAMING-UNSIGNED-PAYLOAD-TRAILER
  };
  Mode mode = Mode::kSigned;
  uint64_t decoded_length_bytes = 0;       // x-amz-decoded-content-length
  std::vector<std::string> trailer_names;  // x-amz-trailer, lower-cased; may be empty
  // The signed modes chain every chunk's signature to the previous one,
  // starting from the request's own signature (the seed). The key is derived
  // from the secret: never log it.
  std::string signing_key;  // raw 32 bytes, as SigningKey returns it
  std::string amz_date;     // YYYYMMDD'T'HHMMSS'Z' of the request
  SigningScope scope;
  std::string seed_signature;
};

struct VerifiedRequest {
  std::string access_key_id;
  std::string user_id;
  // What the client declared in x-amz-content-sha256 (UNSIGNED-PAYLOAD for a
  // presigned URL without that header): a 64-hex SHA-256 the body must match
  // (checked by the caller as the body streams), UNSIGNED-PAYLOAD, or one of
  // the three STREAMING-* values above. Hex digits are lower-cased.
  std::string payload_hash;
  // The region named in the credential scope. Any region is accepted; the
  // gateway may compare it with a bucket's region.
  std::string region;
  // Set exactly when payload_hash is STREAMING-*: the body is aws-chunked and
  // must be read through an AwsChunkedDecoder, never stored as sent.
  std::optional<ChunkedUpload> chunked;
};

using SecretLookup = std::function<Result<meta::AccessKey>(const std::string& access_key_id)>;

// Verifies SigV4 on `request`: in the Authorization header, or in the query
// string of a presigned URL (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
// X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature). Errors are S3
// errors, as S3 reports them:
//   both: AccessDenied (no/unsupported auth, host or an x-amz-* header left
//     unsigned), InvalidArgument (both kinds at once; bad
//     x-amz-content-sha256 value), InvalidAccessKeyId, SignatureDoesNotMatch,
//     InvalidURI (bad percent-escape), or what FromError makes of a failed
//     `lookup` other than kNotFound.
//   header: AccessDenied (no valid x-amz-date or Date), RequestTimeTooSkewed
//     (over 15 minutes from `now`), AuthorizationHeaderMalformed (syntax,
//     service other than "s3", scope date not the request's date),
//     InvalidRequest (no x-amz-content-sha256), MissingContentLength
//     (STREAMING-* without x-amz-decoded-content-length), NotImplemented
//     (STREAMING-* values other than the three above, e.g. SigV4a; reported
//     once the seed signature has been verified).
//   presigned: AuthorizationQueryParametersError (a parameter missing or
//     malformed, X-Amz-Expires outside 1..604800, service other than "s3",
//     scope date not X-Amz-Date's), AccessDenied "Request has expired" (now
//     after X-Amz-Date + X-Amz-Expires) or "Request is not yet valid"
//     (X-Amz-Date over 15 minutes ahead of now).
// A presigned URL signs no payload (UNSIGNED-PAYLOAD) unless the request
// carries x-amz-content-sha256. The body itself is not checked here: see
// VerifiedRequest::payload_hash and ::chunked.
std::variant<VerifiedRequest, S3Error> VerifyRequest(const net::Request& request,
                                                     const SecretLookup& lookup,
                                                     int64_t now_unix_ms);

// Whether `request` carries no authentication at all: no Authorization
// header and none of the query parameters of a presigned URL (SigV4 or
// SigV2). Such a request is anonymous; the gateway lets it do only what a
// bucket policy grants to Principal "*". Its payload is what it declares in
// x-amz-content-sha256 (a SHA-256 is checked like a signed one) or
// UNSIGNED-PAYLOAD; aws-chunked bodies need a signature and are refused.
// AccessDenied for a STREAMING-* payload, InvalidArgument for a malformed
// x-amz-content-sha256.
bool IsAnonymous(const net::Request& request);
std::variant<VerifiedRequest, S3Error> AnonymousRequest(const net::Request& request);

// ---- Presigned URLs -----------------------------------------------------------
inline constexpr int64_t kMaxPresignedExpirySeconds = 604800;  // 7 days, as S3

// The query string that presigns `request` (its method, path, query and
// Host header as they will be sent) for `expires_seconds` from `amz_date`,
// as the SDKs build it: the request's own query, then X-Amz-Algorithm,
// X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders=host and
// X-Amz-Signature; the payload is UNSIGNED-PAYLOAD. For tests and tools.
Result<std::string> PresignQuery(const net::Request& request, std::string_view access_key_id,
                                 std::string_view secret_key, const SigningScope& scope,
                                 std::string_view amz_date, int64_t expires_seconds);

// ---- Names ----------------------------------------------------------------
// Bucket naming rules (3-63 chars, lower-case letters, digits, '-' and '.',
// starts and ends with a letter or digit, not an IP address, no "..",
// no "xn--" or "sthree-" prefix, no "-s3alias", "--ol-s3", ".mrap" or
// "--x-s3" suffix). Returns an InvalidBucketName error.
std::optional<S3Error> CheckBucketName(std::string_view name);
// Object keys: 1..1024 bytes of valid UTF-8 (KeyTooLongError above 1024);
// Holdfast also refuses NUL (InvalidArgument), because the key could not be
// listed in XML afterwards. "../" and the like are ordinary key bytes: keys
// never become file-system paths.
std::optional<S3Error> CheckObjectKey(std::string_view key);

// ---- Addressing -------------------------------------------------------------
// Splits a request into bucket and key. Path-style "/bucket/key" always;
// virtual-hosted style when Host is "<bucket>.<base_domain>[:port]" (the
// bucket may itself contain dots). Names are not checked here (see
// CheckBucketName, CheckObjectKey); a malformed percent-escape, a path not
// starting with '/', or "//key" (a key without a bucket) gives InvalidURI.
struct Target {
  std::string bucket;  // empty: service-level request (ListBuckets)
  std::string key;     // decoded; empty: bucket-level request
};
std::variant<Target, S3Error> ParseTarget(const net::Request& request, std::string_view base_domain);

// ---- XML bodies -------------------------------------------------------------
std::string RenderListBuckets(const std::vector<meta::Bucket>& buckets, std::string_view owner_id);

struct ListV2Params {
  std::string bucket;
  std::string prefix;
  std::string delimiter;
  std::string continuation_token;  // as received
  std::string start_after;
  int max_keys = 1000;
  bool encoding_url = false;       // encoding-type=url
  bool fetch_owner = false;
};
// Continuation tokens are opaque to clients: base64 (URL-safe alphabet) of
// "v1:" and the key to resume after. Parsing anything else gives
// kInvalidArgument "The continuation token provided is incorrect".
std::string MakeContinuationToken(std::string_view start_after);
Result<std::string> ParseContinuationToken(std::string_view token);
std::string RenderListObjectsV2(const ListV2Params& params, const meta::ListResult& result,
                                std::string_view owner_id);

// Parses a CreateBucketConfiguration body (may be empty). Returns the
// LocationConstraint ("" if none) or MalformedXML.
std::variant<std::string, S3Error> ParseCreateBucketConfiguration(std::string_view body);

// RFC 7231 date for Last-Modified ("Mon, 12 Oct 2009 17:50:00 GMT") and
// ISO 8601 for XML ("2009-10-12T17:50:00.000Z").
std::string HttpDate(int64_t unix_ms);
std::string IsoDate(int64_t unix_ms);
// Escapes & < > " ' and writes control characters other than tab and
// newline (CR included) as character references such as "&#xD;", as S3
// does. The text should be valid UTF-8; bytes are otherwise passed through.
std::string XmlEscape(std::string_view text);

}  // namespace holdfast::s3
