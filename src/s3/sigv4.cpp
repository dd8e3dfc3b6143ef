// SigV4 pieces: the Authorization header, the canonical request, the string
// to sign and the signature, as the "Signature Calculations for the
// Authorization Header" page of the S3 API Reference defines them.
// VerifyRequest (verify.cpp) puts them together.
#include <algorithm>
#include <utility>

#include "common/digest.h"
#include "s3/internal.h"
#include "s3/s3.h"

namespace holdfast::s3 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  return text;
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

bool IsLowerHex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool IsDigits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A lower-case HTTP field name (RFC 9110 token characters, no upper case).
bool IsLowerFieldName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

Error Malformed(std::string detail) {
  return MakeError(Errc::kInvalidArgument, "The authorization header is malformed; " + detail);
}

// "Credential=..., SignedHeaders=..., Signature=..." (any order, optional
// spaces after the commas) into the three values.
Status SplitComponents(std::string_view text, std::string_view* credential,
                       std::string_view* signed_headers, std::string_view* signature) {
  bool seen[3] = {false, false, false};
  for (std::string_view part : Split(text, ',')) {
    part = Trim(part);
    size_t equals = part.find('=');
    if (equals == std::string_view::npos)
      return Malformed("expected \"name=value\": " + std::string(part));
    std::string_view name = part.substr(0, equals), value = part.substr(equals + 1);
    int index = name == "Credential"      ? 0
                : name == "SignedHeaders" ? 1
                : name == "Signature"     ? 2
                                          : -1;
    if (index < 0) return Malformed("unknown component \"" + std::string(name) + "\".");
    if (seen[index]) return Malformed("duplicate component \"" + std::string(name) + "\".");
    seen[index] = true;
    *(index == 0 ? credential : index == 1 ? signed_headers : signature) = value;
  }
  if (!seen[0]) return Malformed("missing Credential.");
  if (!seen[1]) return Malformed("missing SignedHeaders.");
  if (!seen[2]) return Malformed("missing Signature.");
  return Status::Ok();
}

// Header values are trimmed and inner runs of whitespace become one space.
void AppendCanonicalValue(std::string_view value, std::string* out) {
  bool pending_space = false;
  for (char c : Trim(value)) {
    if (IsSpace(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space) out->push_back(' ');
    pending_space = false;
    out->push_back(c);
  }
}

char LowerChar(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool NameEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return LowerChar(x) == LowerChar(y);
         });
}

// "name:v1,v2\n" for one signed header; every field of that name, in order.
void AppendCanonicalHeader(const net::Request& request, std::string_view name, std::string* out) {
  out->append(name);
  out->push_back(':');
  bool found = false;
  for (const auto& [field, value] : request.headers.all()) {
    if (!NameEquals(field, name)) continue;
    if (found) out->push_back(',');
    found = true;
    AppendCanonicalValue(value, out);
  }
  // Content-Length may have been consumed by the HTTP layer into a field.
  if (!found && name == "content-length" && request.content_length) {
    out->append(std::to_string(*request.content_length));
  }
  out->push_back('\n');
}

Result<std::string> CanonicalQuery(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!net::ParseQuery(raw_query, &params)) {
    return MakeError(Errc::kInvalidArgument, "malformed percent-escape in the query string");
  }
  for (auto& [name, value] : params) {
    name = net::PercentEncode(name, /*keep_slash=*/false);
    value = net::PercentEncode(value, /*keep_slash=*/false);
  }
  std::sort(params.begin(), params.end());  // by encoded name, then encoded value
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    out += name;
    out.push_back('=');
    out += value;
  }
  return out;
}

}  // namespace

std::string_view TrimBlanks(std::string_view text) { return Trim(text); }

Result<SigningScope> ParseCredential(std::string_view credential, std::string* access_key_id) {
  std::vector<std::string_view> parts = Split(credential, '/');
  if (parts.size() != 5 || parts[0].empty() || parts[1].size() != 8 || !IsDigits(parts[1]) ||
      parts[2].empty() || parts[3].empty() || parts[4] != "aws4_request") {
    return MakeError(Errc::kInvalidArgument,
                     "the Credential is mal-formed; expecting "
                     "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
  }
  *access_key_id = std::string(parts[0]);
  return SigningScope{std::string(parts[1]), std::string(parts[2]), std::string(parts[3])};
}

Result<std::vector<std::string>> ParseSignedHeaders(std::string_view text) {
  std::vector<std::string> names;
  for (std::string_view name : Split(text, ';')) {
    if (!IsLowerFieldName(name)) {
      return MakeError(Errc::kInvalidArgument,
                       "SignedHeaders must be lower-case header names separated by ';'.");
    }
    names.emplace_back(name);
  }
  return names;
}

Result<AuthorizationHeader> ParseAuthorizationHeader(std::string_view value) {
  if (value.substr(0, kAlgorithm.size()) != kAlgorithm || value.size() == kAlgorithm.size() ||
      !IsSpace(value[kAlgorithm.size()])) {
    return Malformed("expected it to start with \"AWS4-HMAC-SHA256 \".");
  }
  std::string_view credential, signed_headers, signature;
  Status split = SplitComponents(Trim(value.substr(kAlgorithm.size())), &credential,
                                 &signed_headers, &signature);
  if (!split) return split.error();

  AuthorizationHeader header;
  Result<SigningScope> scope = ParseCredential(credential, &header.access_key_id);
  if (!scope) return Malformed(scope.error().message);
  header.scope = std::move(*scope);
  Result<std::vector<std::string>> names = ParseSignedHeaders(signed_headers);
  if (!names) return Malformed(names.error().message);
  header.signed_headers = std::move(*names);
  if (signature.size() != 64 || !IsLowerHex(signature)) {
    return Malformed("the Signature must be 64 lower-case hexadecimal digits.");
  }
  header.signature = std::string(signature);
  return header;
}

Result<std::string> CanonicalRequest(const net::Request& request,
                                     const std::vector<std::string>& signed_headers,
                                     std::string_view payload_hash) {
  // S3 signs the path as sent, decoded once and encoded once: no removal of
  // "." or ".." segments, no merging of "//" (they are legal key bytes).
  std::string path;
  if (!net::PercentDecode(request.path, &path)) {
    return MakeError(Errc::kInvalidArgument, "malformed percent-escape in the request path");
  }
  Result<std::string> query = CanonicalQuery(request.query);
  if (!query) return query.error();

  std::string out = request.method;
  out.push_back('\n');
  out += path.empty() ? "/" : net::PercentEncode(path, /*keep_slash=*/true);
  out.push_back('\n');
  out += *query;
  out.push_back('\n');
  for (const std::string& name : signed_headers) AppendCanonicalHeader(request, name, &out);
  out.push_back('\n');
  for (size_t i = 0; i < signed_headers.size(); ++i) {
    if (i > 0) out.push_back(';');
    out += signed_headers[i];
  }
  out.push_back('\n');
  out.append(payload_hash);
  return out;
}

std::string StringToSign(std::string_view amz_date, const SigningScope& scope,
                         std::string_view canonical_request) {
  std::string out(kAlgorithm);
  out.push_back('\n');
  out.append(amz_date);
  out.push_back('\n');
  out += scope.date + "/" + scope.region + "/" + scope.service + "/aws4_request\n";
  out += HexLower(Sha256(AsBytes(canonical_request)));
  return out;
}

std::string SigningKey(std::string_view secret_key, const SigningScope& scope) {
  auto hmac = [](std::string_view key, std::string_view message) {
    Sha256Digest digest = HmacSha256(AsBytes(key), AsBytes(message));
    return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
  };
  std::string date_key = hmac("AWS4" + std::string(secret_key), scope.date);
  std::string region_key = hmac(date_key, scope.region);
  std::string service_key = hmac(region_key, scope.service);
  return hmac(service_key, "aws4_request");
}

std::string Signature(std::string_view signing_key, std::string_view string_to_sign) {
  return HexLower(HmacSha256(AsBytes(signing_key), AsBytes(string_to_sign)));
}

}  // namespace holdfast::s3
