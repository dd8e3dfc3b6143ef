// VerifyRequest: SigV4 for S3, checked in the order S3 reports problems: the
// kind of authentication, the header's syntax, the request time, what must be
// signed, the key, and only then the signature. Error codes and messages
// follow what S3 answers, so SDKs and tools that match on them (e.g.
// clock-skew retries on RequestTimeTooSkewed) behave. Presigned URLs take the
// same steps in presigned.cpp.
#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <string>

#include "common/digest.h"
#include "s3/dates.h"
#include "s3/internal.h"
#include "s3/s3.h"

namespace holdfast::s3 {
namespace {

enum class AuthKind { kHeader, kPresigned };

bool QueryHasParameter(std::string_view raw_query, std::string_view name) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!net::ParseQuery(raw_query, &params)) return false;  // CanonicalRequest reports it
  return std::any_of(params.begin(), params.end(),
                     [&](const auto& param) { return param.first == name; });
}

// AWS4-HMAC-SHA256 is the only algorithm accepted, in the header or the query.
std::variant<AuthKind, S3Error> GetAuthKind(const net::Request& request) {
  std::optional<std::string_view> authorization = request.headers.Get("Authorization");
  bool presigned = QueryHasParameter(request.query, "X-Amz-Algorithm");
  if (presigned && authorization) {
    return MakeS3Error("InvalidArgument",
                       "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                       "parameter, Signature query string parameter or the Authorization header "
                       "should be specified");
  }
  if (presigned) return AuthKind::kPresigned;
  // Signature Version 2 (query "Signature"/"AWSAccessKeyId", or "AWS id:sig"):
  // answered as AWS answers it in regions that only speak SigV4, so SDKs and
  // their users see the familiar message. (boto3 presigns with SigV2 unless
  // configured with signature_version="s3v4".)
  if (QueryHasParameter(request.query, "AWSAccessKeyId") ||
      (authorization && authorization->starts_with("AWS "))) {
    return MakeS3Error("InvalidRequest",
                       "The authorization mechanism you have provided is not supported. Please "
                       "use AWS4-HMAC-SHA256.");
  }
  if (!authorization) {
    return MakeS3Error("AccessDenied",
                       "Anonymous access is not allowed: sign the request with "
                       "AWS Signature Version 4");
  }
  if (!authorization->starts_with("AWS4-HMAC-SHA256 ")) {
    return MakeS3Error("AccessDenied",
                       "Unsupported authorization type; only AWS Signature "
                       "Version 4 (AWS4-HMAC-SHA256) is accepted");
  }
  return AuthKind::kHeader;
}

struct RequestTime {
  int64_t unix_ms = 0;
  std::string amz_date;  // YYYYMMDD'T'HHMMSS'Z', as it enters the string to sign
};

std::variant<RequestTime, S3Error> GetRequestTime(const net::Request& request) {
  std::optional<int64_t> unix_ms;
  std::string amz_date;
  if (std::optional<std::string_view> header = request.headers.Get("x-amz-date")) {
    amz_date = std::string(TrimBlanks(*header));
    unix_ms = ParseAmzDate(amz_date);
  } else if (std::optional<std::string_view> date = request.headers.Get("Date")) {
    unix_ms = ParseHttpDate(TrimBlanks(*date));
    if (unix_ms) amz_date = FormatAmzDate(*unix_ms);
  }
  if (!unix_ms) {
    return MakeS3Error("AccessDenied",
                       "AWS authentication requires a valid Date or x-amz-date header");
  }
  return RequestTime{*unix_ms, std::move(amz_date)};
}

// The checks on the header's contents that need no secret.
std::optional<S3Error> CheckHeaderAgainstRequest(const net::Request& request,
                                                 const AuthorizationHeader& header,
                                                 const RequestTime& time, int64_t now_unix_ms) {
  if (header.scope.service != "s3") {
    return MakeS3Error("AuthorizationHeaderMalformed",
                       "The authorization header is malformed; incorrect service \"" +
                           header.scope.service + "\". This endpoint belongs to \"s3\".");
  }
  if (header.scope.date != time.amz_date.substr(0, 8)) {
    return MakeS3Error("AuthorizationHeaderMalformed",
                       "The authorization header is malformed; Invalid credential date \"" +
                           header.scope.date + "\". This date is not the same as X-Amz-Date: \"" +
                           time.amz_date.substr(0, 8) + "\".");
  }
  if (std::llabs(now_unix_ms - time.unix_ms) > kMaxClockSkewMs) {
    return MakeS3Error("RequestTimeTooSkewed",
                       "The difference between the request time and the current time is too "
                       "large.");
  }
  return CheckSignedHeaders(request, header.signed_headers);
}

std::optional<ChunkedUpload::Mode> StreamingMode(std::string_view payload_hash) {
  if (payload_hash == kStreamingPayload) return ChunkedUpload::Mode::kSigned;
  if (payload_hash == kStreamingPayloadTrailer) return ChunkedUpload::Mode::kSignedWithTrailer;
  if (payload_hash == kStreamingUnsignedPayloadTrailer) {
    return ChunkedUpload::Mode::kUnsignedWithTrailer;
  }
  return std::nullopt;
}

// "x-amz-checksum-crc32" or "a, b": the trailer names, lower-cased.
std::vector<std::string> TrailerNames(const net::Request& request) {
  std::vector<std::string> names;
  std::string_view list = request.headers.Get("x-amz-trailer").value_or("");
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view name = TrimBlanks(list.substr(0, comma));
    if (!name.empty()) names.push_back(AsciiLower(name));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  return names;
}

// What the decoder of an aws-chunked body needs; the seed signature has been
// verified already.
std::variant<ChunkedUpload, S3Error> MakeChunkedUpload(const net::Request& request,
                                                       std::string_view payload_hash,
                                                       const AuthorizationHeader& header,
                                                       std::string amz_date,
                                                       std::string signing_key) {
  std::optional<ChunkedUpload::Mode> mode = StreamingMode(payload_hash);
  if (!mode) {
    return MakeS3Error("NotImplemented", "This x-amz-content-sha256 value is not supported: " +
                                             std::string(payload_hash));
  }
  std::optional<std::string_view> decoded = request.headers.Get("x-amz-decoded-content-length");
  if (!decoded) {
    return MakeS3Error("MissingContentLength",
                       "You must provide the x-amz-decoded-content-length header with "
                       "aws-chunked uploads.");
  }
  ChunkedUpload upload;
  std::string_view digits = TrimBlanks(*decoded);
  auto [end, error] =
      std::from_chars(digits.data(), digits.data() + digits.size(), upload.decoded_length_bytes);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size()) {
    return MakeS3Error("InvalidArgument",
                       "x-amz-decoded-content-length must be a non-negative integer.");
  }
  upload.mode = *mode;
  upload.trailer_names = TrailerNames(request);
  upload.signing_key = std::move(signing_key);
  upload.amz_date = std::move(amz_date);
  upload.scope = header.scope;
  upload.seed_signature = header.signature;
  return upload;
}

std::variant<VerifiedRequest, S3Error> VerifyHeaderAuth(const net::Request& request,
                                                        const SecretLookup& lookup,
                                                        int64_t now_unix_ms) {
  Result<AuthorizationHeader> header =
      ParseAuthorizationHeader(*request.headers.Get("Authorization"));
  if (!header) return MakeS3Error("AuthorizationHeaderMalformed", header.error().message);

  std::optional<std::string_view> content_sha256 = request.headers.Get("x-amz-content-sha256");
  if (!content_sha256) {
    return MakeS3Error("InvalidRequest",
                       "Missing required header for this request: x-amz-content-sha256");
  }
  std::string_view payload_hash = TrimBlanks(*content_sha256);
  if (std::optional<S3Error> error = CheckPayloadHash(payload_hash)) return *error;

  std::variant<RequestTime, S3Error> time = GetRequestTime(request);
  if (auto* error = std::get_if<S3Error>(&time)) return std::move(*error);
  RequestTime& request_time = std::get<RequestTime>(time);
  if (auto error = CheckHeaderAgainstRequest(request, *header, request_time, now_unix_ms)) {
    return *error;
  }

  std::variant<meta::AccessKey, S3Error> key = LookUpKey(lookup, header->access_key_id);
  if (auto* error = std::get_if<S3Error>(&key)) return std::move(*error);
  const meta::AccessKey& access_key = std::get<meta::AccessKey>(key);

  Result<std::string> canonical = CanonicalRequest(request, header->signed_headers, payload_hash);
  if (!canonical) return MakeS3Error("InvalidURI", "Couldn't parse the specified URI.");
  std::string string_to_sign = StringToSign(request_time.amz_date, header->scope, *canonical);
  std::string signing_key = SigningKey(access_key.secret_key, header->scope);
  if (!ConstantTimeEquals(Signature(signing_key, string_to_sign), header->signature)) {
    return SignatureMismatch();
  }

  VerifiedRequest verified;
  verified.access_key_id = header->access_key_id;
  verified.user_id = access_key.user_id;
  verified.payload_hash =
      IsSha256Hex(payload_hash) ? AsciiLower(payload_hash) : std::string(payload_hash);
  verified.region = header->scope.region;
  if (payload_hash.starts_with("STREAMING-")) {
    auto upload = MakeChunkedUpload(request, payload_hash, *header,
                                    std::move(request_time.amz_date), std::move(signing_key));
    if (auto* error = std::get_if<S3Error>(&upload)) return std::move(*error);
    verified.chunked = std::move(std::get<ChunkedUpload>(upload));
  }
  return verified;
}

}  // namespace

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

bool IsSha256Hex(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

// Host, the date and every x-amz-* header must be covered by the signature,
// or a man in the middle could change them (x-amz-copy-source, x-amz-meta-*).
std::optional<S3Error> CheckSignedHeaders(const net::Request& request,
                                          const std::vector<std::string>& signed_headers) {
  auto is_signed = [&](const std::string& name) {
    return std::find(signed_headers.begin(), signed_headers.end(), name) != signed_headers.end();
  };
  std::vector<std::string> unsigned_names;
  if (!is_signed("host")) unsigned_names.push_back("host");
  for (const auto& [field, value] : request.headers.all()) {
    std::string name = AsciiLower(field);
    if (name.starts_with("x-amz-") && !is_signed(name) &&
        std::find(unsigned_names.begin(), unsigned_names.end(), name) == unsigned_names.end()) {
      unsigned_names.push_back(std::move(name));
    }
  }
  if (unsigned_names.empty()) return std::nullopt;
  std::string list;
  for (const std::string& name : unsigned_names) list += (list.empty() ? "" : ",") + name;
  return MakeS3Error("AccessDenied",
                     "There were headers present in the request which were not signed: " + list);
}

std::optional<S3Error> CheckPayloadHash(std::string_view payload_hash) {
  if (IsSha256Hex(payload_hash) || payload_hash == kUnsignedPayload ||
      payload_hash.starts_with("STREAMING-")) {
    return std::nullopt;
  }
  return MakeS3Error("InvalidArgument",
                     "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                     "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.");
}

std::variant<meta::AccessKey, S3Error> LookUpKey(const SecretLookup& lookup,
                                                 const std::string& access_key_id) {
  Result<meta::AccessKey> key = lookup(access_key_id);
  if (key) return std::move(*key);
  if (key.error().code == Errc::kNotFound) {
    return MakeS3Error("InvalidAccessKeyId",
                       "The AWS Access Key Id you provided does not exist in our records.");
  }
  return FromError(key.error());
}

S3Error SignatureMismatch() {
  return MakeS3Error("SignatureDoesNotMatch",
                     "The request signature we calculated does not match the signature you "
                     "provided. Check your key and signing method.");
}

bool IsAnonymous(const net::Request& request) {
  if (request.headers.Has("Authorization")) return false;
  for (std::string_view name : {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "AWSAccessKeyId",
                                "Signature"}) {
    if (QueryHasParameter(request.query, name)) return false;
  }
  return true;
}

std::variant<VerifiedRequest, S3Error> AnonymousRequest(const net::Request& request) {
  VerifiedRequest anonymous;
  anonymous.payload_hash = std::string(kUnsignedPayload);
  if (std::optional<std::string_view> declared = request.headers.Get("x-amz-content-sha256")) {
    if (declared->starts_with("STREAMING-")) {
      return MakeS3Error("AccessDenied", "An aws-chunked body needs a signed request");
    }
    if (auto error = CheckPayloadHash(*declared)) return *error;
    anonymous.payload_hash = AsciiLower(*declared);
  }
  return anonymous;
}

std::variant<VerifiedRequest, S3Error> VerifyRequest(const net::Request& request,
                                                     const SecretLookup& lookup,
                                                     int64_t now_unix_ms) {
  std::variant<AuthKind, S3Error> kind = GetAuthKind(request);
  if (auto* error = std::get_if<S3Error>(&kind)) return std::move(*error);
  if (std::get<AuthKind>(kind) == AuthKind::kPresigned) {
    return VerifyPresigned(request, lookup, now_unix_ms);
  }
  return VerifyHeaderAuth(request, lookup, now_unix_ms);
}

}  // namespace holdfast::s3
