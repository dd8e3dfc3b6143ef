// VerifyRequest: header-based SigV4 for S3, checked in the order S3 reports
// problems: the kind of authentication, the header's syntax, the request
// time, what must be signed, the key, and only then the signature. Error
// codes and messages follow what S3 answers, so SDKs and tools that match on
// them (e.g. clock-skew retries on RequestTimeTooSkewed) behave.
#include <algorithm>
#include <cstdlib>
#include <string>

#include "common/digest.h"
#include "s3/dates.h"
#include "s3/s3.h"

namespace holdfast::s3 {
namespace {

constexpr int64_t kMaxSkewMs = 15 * 60 * 1000;

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

bool QueryHasParameter(std::string_view raw_query, std::string_view name) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!net::ParseQuery(raw_query, &params)) return false;  // CanonicalRequest reports it
  return std::any_of(params.begin(), params.end(),
                     [&](const auto& param) { return param.first == name; });
}

// Header authentication with AWS4-HMAC-SHA256 is the only kind accepted.
std::optional<S3Error> CheckAuthKind(const net::Request& request) {
  std::optional<std::string_view> authorization = request.headers.Get("Authorization");
  bool presigned = QueryHasParameter(request.query, "X-Amz-Algorithm");
  if (presigned && authorization) {
    return MakeS3Error("InvalidArgument",
                       "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                       "parameter, Signature query string parameter or the Authorization header "
                       "should be specified");
  }
  if (presigned) {
    return MakeS3Error("NotImplemented",
                       "Presigned URLs (query-string authentication) are not supported yet");
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
  return std::nullopt;
}

struct RequestTime {
  int64_t unix_ms = 0;
  std::string amz_date;  // YYYYMMDD'T'HHMMSS'Z', as it enters the string to sign
};

std::variant<RequestTime, S3Error> GetRequestTime(const net::Request& request) {
  std::optional<int64_t> unix_ms;
  std::string amz_date;
  if (std::optional<std::string_view> header = request.headers.Get("x-amz-date")) {
    amz_date = std::string(Trim(*header));
    unix_ms = ParseAmzDate(amz_date);
  } else if (std::optional<std::string_view> date = request.headers.Get("Date")) {
    unix_ms = ParseHttpDate(Trim(*date));
    if (unix_ms) amz_date = FormatAmzDate(*unix_ms);
  }
  if (!unix_ms) {
    return MakeS3Error("AccessDenied",
                       "AWS authentication requires a valid Date or x-amz-date header");
  }
  return RequestTime{*unix_ms, std::move(amz_date)};
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
    std::string name = Lower(field);
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

bool IsSha256Hex(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
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
  if (std::llabs(now_unix_ms - time.unix_ms) > kMaxSkewMs) {
    return MakeS3Error("RequestTimeTooSkewed",
                       "The difference between the request time and the current time is too "
                       "large.");
  }
  return CheckSignedHeaders(request, header.signed_headers);
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

}  // namespace

std::variant<VerifiedRequest, S3Error> VerifyRequest(const net::Request& request,
                                                     const SecretLookup& lookup,
                                                     int64_t now_unix_ms) {
  if (std::optional<S3Error> error = CheckAuthKind(request)) return *error;
  Result<AuthorizationHeader> header =
      ParseAuthorizationHeader(*request.headers.Get("Authorization"));
  if (!header) return MakeS3Error("AuthorizationHeaderMalformed", header.error().message);

  std::optional<std::string_view> content_sha256 = request.headers.Get("x-amz-content-sha256");
  if (!content_sha256) {
    return MakeS3Error("InvalidRequest",
                       "Missing required header for this request: x-amz-content-sha256");
  }
  std::string_view payload_hash = Trim(*content_sha256);
  if (std::optional<S3Error> error = CheckPayloadHash(payload_hash)) return *error;

  std::variant<RequestTime, S3Error> time = GetRequestTime(request);
  if (auto* error = std::get_if<S3Error>(&time)) return std::move(*error);
  const RequestTime& request_time = std::get<RequestTime>(time);
  if (auto error = CheckHeaderAgainstRequest(request, *header, request_time, now_unix_ms)) {
    return *error;
  }

  std::variant<meta::AccessKey, S3Error> key = LookUpKey(lookup, header->access_key_id);
  if (auto* error = std::get_if<S3Error>(&key)) return std::move(*error);
  const meta::AccessKey& access_key = std::get<meta::AccessKey>(key);

  Result<std::string> canonical = CanonicalRequest(request, header->signed_headers, payload_hash);
  if (!canonical) return MakeS3Error("InvalidURI", "Couldn't parse the specified URI.");
  std::string string_to_sign = StringToSign(request_time.amz_date, header->scope, *canonical);
  std::string expected =
      Signature(SigningKey(access_key.secret_key, header->scope), string_to_sign);
  if (!ConstantTimeEquals(expected, header->signature)) {
    return MakeS3Error("SignatureDoesNotMatch",
                       "The request signature we calculated does not match the signature you "
                       "provided. Check your key and signing method.");
  }
  if (payload_hash.starts_with("STREAMING-")) {
    return MakeS3Error("NotImplemented", "aws-chunked uploads are not supported yet (" +
                                             std::string(payload_hash) + ")");
  }
  VerifiedRequest verified;
  verified.access_key_id = header->access_key_id;
  verified.user_id = access_key.user_id;
  verified.payload_hash =
      IsSha256Hex(payload_hash) ? Lower(payload_hash) : std::string(payload_hash);
  verified.region = header->scope.region;
  return verified;
}

}  // namespace holdfast::s3
