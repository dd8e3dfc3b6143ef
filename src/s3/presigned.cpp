// Presigned URLs: SigV4 carried in the query string, as the "Authenticating
// Requests: Using Query Parameters" page of the S3 API Reference defines it.
// The canonical request is the header one's, over the query without
// X-Amz-Signature, with UNSIGNED-PAYLOAD unless the request carries
// x-amz-content-sha256. Errors use S3's AuthorizationQueryParametersError
// and its messages, so a client sees what it would see from AWS.
#include <algorithm>
#include <charconv>

#include "common/digest.h"
#include "s3/dates.h"
#include "s3/internal.h"
#include "s3/s3.h"

namespace holdfast::s3 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

S3Error QueryError(std::string message) {
  return MakeS3Error("AuthorizationQueryParametersError", std::move(message));
}

// The six authentication parameters, decoded, as sent.
struct QueryAuth {
  std::string algorithm, credential, amz_date, expires, signed_headers, signature;
};

std::variant<QueryAuth, S3Error> GetQueryAuth(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!net::ParseQuery(raw_query, &params)) {
    return MakeS3Error("InvalidURI", "Couldn't parse the specified URI.");
  }
  QueryAuth auth;
  std::pair<std::string_view, std::string*> wanted[] = {
      {"X-Amz-Algorithm", &auth.algorithm},
      {"X-Amz-Credential", &auth.credential},
      {"X-Amz-Date", &auth.amz_date},
      {"X-Amz-Expires", &auth.expires},
      {"X-Amz-SignedHeaders", &auth.signed_headers},
      {"X-Amz-Signature", &auth.signature}};
  for (auto& [name, value] : wanted) {
    auto it = std::find_if(params.begin(), params.end(),
                           [&, name = name](const auto& param) { return param.first == name; });
    if (it == params.end()) {
      return QueryError(
          "Query-string authentication version 4 requires the X-Amz-Algorithm, "
          "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
          "X-Amz-Expires parameters.");
    }
    *value = it->second;
  }
  return auth;
}

// What the parameters say, checked for syntax and against each other.
struct Presigned {
  std::string access_key_id;
  SigningScope scope;
  std::vector<std::string> signed_headers;
  std::string signature;
  std::string amz_date;
  int64_t date_unix_ms = 0;
  int64_t expires_seconds = 0;
};

std::variant<int64_t, S3Error> ParseExpires(std::string_view text) {
  int64_t seconds = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return QueryError("X-Amz-Expires should be a number");
  }
  if (seconds < 0) return QueryError("X-Amz-Expires must be non-negative");
  if (seconds > kMaxPresignedExpirySeconds) {
    return QueryError(
        "X-Amz-Expires must be less than a week (in seconds); that is, the given "
        "X-Amz-Expires must be less than 604800 seconds");
  }
  if (seconds == 0) return QueryError("X-Amz-Expires must be between 1 and 604800 seconds");
  return seconds;
}

std::optional<S3Error> ParseScope(const QueryAuth& auth, Presigned* out) {
  const std::string prefix = "Error parsing the X-Amz-Credential parameter; ";
  Result<SigningScope> scope = ParseCredential(auth.credential, &out->access_key_id);
  if (!scope) return QueryError(prefix + scope.error().message);
  out->scope = std::move(*scope);
  if (out->scope.service != "s3") {
    return QueryError(prefix + "incorrect service \"" + out->scope.service +
                      "\". This endpoint belongs to \"s3\".");
  }
  if (out->scope.date != out->amz_date.substr(0, 8)) {
    return QueryError(prefix + "Invalid credential date \"" + out->scope.date +
                      "\". This date is not the same as X-Amz-Date: \"" +
                      out->amz_date.substr(0, 8) + "\".");
  }
  Result<std::vector<std::string>> names = ParseSignedHeaders(auth.signed_headers);
  if (!names) {
    return QueryError("Error parsing the X-Amz-SignedHeaders parameter; " + names.error().message);
  }
  out->signed_headers = std::move(*names);
  return std::nullopt;
}

std::variant<Presigned, S3Error> ParsePresigned(const QueryAuth& auth) {
  if (auth.algorithm != kAlgorithm) {
    return QueryError("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  }
  Presigned out;
  out.amz_date = auth.amz_date;
  std::optional<int64_t> date = ParseAmzDate(auth.amz_date);
  if (!date) {
    return QueryError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  }
  out.date_unix_ms = *date;
  std::variant<int64_t, S3Error> expires = ParseExpires(auth.expires);
  if (auto* error = std::get_if<S3Error>(&expires)) return std::move(*error);
  out.expires_seconds = std::get<int64_t>(expires);
  if (std::optional<S3Error> error = ParseScope(auth, &out)) return *error;
  out.signature = auth.signature;
  return out;
}

// A URL is good from X-Amz-Date (less the clock skew S3 allows everywhere)
// until X-Amz-Expires seconds later, exactly.
std::optional<S3Error> CheckValidity(const Presigned& presigned, int64_t now_unix_ms) {
  if (now_unix_ms > presigned.date_unix_ms + presigned.expires_seconds * 1000) {
    return MakeS3Error("AccessDenied", "Request has expired");
  }
  if (presigned.date_unix_ms - now_unix_ms > kMaxClockSkewMs) {
    return MakeS3Error("AccessDenied", "Request is not yet valid");
  }
  return std::nullopt;
}

// The raw query less its X-Amz-Signature parameter(s); the rest is signed.
std::string QueryWithoutSignature(std::string_view raw_query) {
  std::string out;
  while (!raw_query.empty()) {
    size_t amp = raw_query.find('&');
    std::string_view part = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view() : raw_query.substr(amp + 1);
    std::string name;
    if (net::PercentDecode(part.substr(0, part.find('=')), &name) && name == "X-Amz-Signature") {
      continue;
    }
    if (!out.empty()) out.push_back('&');
    out.append(part);
  }
  return out;
}

std::variant<std::string, S3Error> PayloadHash(const net::Request& request) {
  std::optional<std::string_view> header = request.headers.Get("x-amz-content-sha256");
  if (!header) return std::string(kUnsignedPayload);
  std::string_view value = TrimBlanks(*header);
  if (std::optional<S3Error> error = CheckPayloadHash(value)) return *error;
  if (value.starts_with("STREAMING-")) {
    return MakeS3Error("NotImplemented", "aws-chunked bodies need header authentication");
  }
  return IsSha256Hex(value) ? AsciiLower(value) : std::string(value);
}

std::optional<S3Error> CheckSignature(const net::Request& request, const Presigned& presigned,
                                      const std::string& secret_key,
                                      std::string_view payload_hash) {
  net::Request signed_part = request;
  signed_part.query = QueryWithoutSignature(request.query);
  Result<std::string> canonical =
      CanonicalRequest(signed_part, presigned.signed_headers, payload_hash);
  if (!canonical) return MakeS3Error("InvalidURI", "Couldn't parse the specified URI.");
  std::string expected = Signature(SigningKey(secret_key, presigned.scope),
                                   StringToSign(presigned.amz_date, presigned.scope, *canonical));
  if (ConstantTimeEquals(expected, presigned.signature)) return std::nullopt;
  return SignatureMismatch();
}

}  // namespace

std::variant<VerifiedRequest, S3Error> VerifyPresigned(const net::Request& request,
                                                       const SecretLookup& lookup,
                                                       int64_t now_unix_ms) {
  std::variant<QueryAuth, S3Error> auth = GetQueryAuth(request.query);
  if (auto* error = std::get_if<S3Error>(&auth)) return std::move(*error);
  std::variant<Presigned, S3Error> parsed = ParsePresigned(std::get<QueryAuth>(auth));
  if (auto* error = std::get_if<S3Error>(&parsed)) return std::move(*error);
  const Presigned& presigned = std::get<Presigned>(parsed);
  if (std::optional<S3Error> error = CheckValidity(presigned, now_unix_ms)) return *error;
  if (auto error = CheckSignedHeaders(request, presigned.signed_headers)) return *error;
  std::variant<std::string, S3Error> payload_hash = PayloadHash(request);
  if (auto* error = std::get_if<S3Error>(&payload_hash)) return std::move(*error);

  std::variant<meta::AccessKey, S3Error> key = LookUpKey(lookup, presigned.access_key_id);
  if (auto* error = std::get_if<S3Error>(&key)) return std::move(*error);
  const meta::AccessKey& access_key = std::get<meta::AccessKey>(key);
  if (auto error = CheckSignature(request, presigned, access_key.secret_key,
                                  std::get<std::string>(payload_hash))) {
    return *error;
  }
  VerifiedRequest verified;
  verified.access_key_id = presigned.access_key_id;
  verified.user_id = access_key.user_id;
  verified.payload_hash = std::move(std::get<std::string>(payload_hash));
  verified.region = presigned.scope.region;
  return verified;
}

Result<std::string> PresignQuery(const net::Request& request, std::string_view access_key_id,
                                 std::string_view secret_key, const SigningScope& scope,
                                 std::string_view amz_date, int64_t expires_seconds) {
  std::string credential = std::string(access_key_id) + "/" + scope.date + "/" + scope.region +
                           "/" + scope.service + "/aws4_request";
  std::string query = request.query;
  if (!query.empty()) query.push_back('&');
  query += "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" +
           net::PercentEncode(credential, /*keep_slash=*/false) +
           "&X-Amz-Date=" + std::string(amz_date) +
           "&X-Amz-Expires=" + std::to_string(expires_seconds) + "&X-Amz-SignedHeaders=host";
  net::Request signed_part = request;
  signed_part.query = query;
  Result<std::string> canonical = CanonicalRequest(signed_part, {"host"}, kUnsignedPayload);
  if (!canonical) return canonical.error();
  std::string signature =
      Signature(SigningKey(secret_key, scope), StringToSign(amz_date, scope, *canonical));
  return query + "&X-Amz-Signature=" + signature;
}

}  // namespace holdfast::s3
