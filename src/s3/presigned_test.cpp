// Presigned URLs: the S3 API Reference's example ("Authenticating Requests:
// Using Query Parameters"), then URLs made by PresignQuery and checked by
// VerifyRequest, and one test per way a URL is refused.
#include <gtest/gtest.h>

#include "common/digest.h"
#include "s3/s3.h"

namespace holdfast::s3 {
namespace {

constexpr int64_t kMay24Ms = 1369353600000;  // 2013-05-24T00:00:00Z
constexpr int64_t kSecondMs = 1000;
constexpr int64_t kMinuteMs = 60 * kSecondMs;
const std::string kAccessKey = "AKIAIOSFODNN7EXAMPLE";
const std::string kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SigningScope kScope{"20130524", "us-east-1", "s3"};

// The documented URL, as typed from the page.
const std::string kExampleQuery =
    "X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

net::Request Get(std::string path, std::string query, std::string host) {
  net::Request request;
  request.method = "GET";
  request.path = std::move(path);
  request.query = std::move(query);
  request.target = request.path + (request.query.empty() ? "" : "?" + request.query);
  request.headers.Add("Host", std::move(host));
  return request;
}

net::Request ExampleRequest(std::string query = kExampleQuery) {
  return Get("/test.txt", std::move(query), "examplebucket.s3.amazonaws.com");
}

SecretLookup Lookup() {
  return [](const std::string& id) -> Result<meta::AccessKey> {
    if (id != kAccessKey) return MakeError(Errc::kNotFound, "no such key");
    return meta::AccessKey{id, kSecret, "user-1"};
  };
}

std::string Outcome(const std::variant<VerifiedRequest, S3Error>& outcome) {
  if (const S3Error* error = std::get_if<S3Error>(&outcome)) return error->code;
  return "OK";
}

std::string Message(const std::variant<VerifiedRequest, S3Error>& outcome) {
  if (const S3Error* error = std::get_if<S3Error>(&outcome)) return error->message;
  return "";
}

std::string Replace(std::string text, std::string_view from, std::string_view to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(Presigned, TheDocumentedCanonicalRequestAndSignature) {
  // The page's canonical request: the query without X-Amz-Signature, and
  // UNSIGNED-PAYLOAD.
  net::Request unsigned_part =
      ExampleRequest(kExampleQuery.substr(0, kExampleQuery.find("&X-Amz-Signature")));
  Result<std::string> canonical = CanonicalRequest(unsigned_part, {"host"}, kUnsignedPayload);
  ASSERT_TRUE(canonical.ok());
  EXPECT_EQ(*canonical,
            "GET\n/test.txt\n"
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
            "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
            "X-Amz-SignedHeaders=host\n"
            "host:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD");
  std::string string_to_sign = StringToSign("20130524T000000Z", kScope, *canonical);
  EXPECT_EQ(string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04");
  EXPECT_EQ(Signature(SigningKey(kSecret, kScope), string_to_sign),
            "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(Presigned, PresignQueryReproducesTheDocumentedUrl) {
  Result<std::string> query =
      PresignQuery(ExampleRequest(""), kAccessKey, kSecret, kScope, "20130524T000000Z", 86400);
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(*query, kExampleQuery);
}

TEST(Presigned, TheDocumentedUrlIsValidForItsDay) {
  auto at = [](int64_t now_ms) { return VerifyRequest(ExampleRequest(), Lookup(), now_ms); };
  auto outcome = at(kMay24Ms + 3600 * kSecondMs);
  ASSERT_EQ(Outcome(outcome), "OK");
  const VerifiedRequest& verified = std::get<VerifiedRequest>(outcome);
  EXPECT_EQ(verified.access_key_id, kAccessKey);
  EXPECT_EQ(verified.user_id, "user-1");
  EXPECT_EQ(verified.payload_hash, kUnsignedPayload);
  EXPECT_EQ(verified.region, "us-east-1");
  EXPECT_FALSE(verified.chunked.has_value());

  EXPECT_EQ(Outcome(at(kMay24Ms + 86400 * kSecondMs)), "OK");  // the last millisecond
  EXPECT_EQ(Outcome(at(kMay24Ms + 86400 * kSecondMs + 1)), "AccessDenied");
  EXPECT_EQ(Message(at(kMay24Ms + 86400 * kSecondMs + 1)), "Request has expired");
  // A URL signed up to 15 minutes "in the future" is a clock difference.
  EXPECT_EQ(Outcome(at(kMay24Ms - 15 * kMinuteMs)), "OK");
  EXPECT_EQ(Outcome(at(kMay24Ms - 15 * kMinuteMs - 1)), "AccessDenied");
  EXPECT_EQ(Message(at(kMay24Ms - 15 * kMinuteMs - 1)), "Request is not yet valid");
}

TEST(Presigned, RoundTripsWithQueryParametersAndOddKeys) {
  net::Request request =
      Get("/bucket/a%20b/%E2%82%AC+c", "versionId=v%2B1&response-content-type=text%2Fplain",
          "localhost:9000");
  request.method = "PUT";
  SigningScope scope{"20240229", "eu-central-1", "s3"};
  Result<std::string> query =
      PresignQuery(request, kAccessKey, kSecret, scope, "20240229T235959Z", 604800);
  ASSERT_TRUE(query.ok());
  request.query = *query;
  int64_t signed_at = 1709251199000;  // 2024-02-29T23:59:59Z
  EXPECT_EQ(Outcome(VerifyRequest(request, Lookup(), signed_at + 7 * 86400 * kSecondMs)), "OK");

  net::Request tampered = request;
  tampered.method = "DELETE";
  EXPECT_EQ(Outcome(VerifyRequest(tampered, Lookup(), signed_at)), "SignatureDoesNotMatch");
  tampered = request;
  tampered.query = Replace(request.query, "v%2B1", "v%2B2");
  EXPECT_EQ(Outcome(VerifyRequest(tampered, Lookup(), signed_at)), "SignatureDoesNotMatch");
  tampered = request;
  tampered.headers.Set("Host", "evil:9000");
  EXPECT_EQ(Outcome(VerifyRequest(tampered, Lookup(), signed_at)), "SignatureDoesNotMatch");
  tampered = request;
  tampered.query = Replace(request.query, "X-Amz-Expires=604800", "X-Amz-Expires=604799");
  EXPECT_EQ(Outcome(VerifyRequest(tampered, Lookup(), signed_at)), "SignatureDoesNotMatch");
}

TEST(Presigned, ContentSha256HeaderIsThePayloadHash) {
  net::Request request = Get("/bucket/key", "", "localhost");
  request.method = "PUT";
  const std::string empty_sha256 =
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  request.headers.Add("x-amz-content-sha256", empty_sha256);
  // Signed over host and x-amz-content-sha256, as a client that sends it must.
  request.query =
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
      "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=60&"
      "X-Amz-SignedHeaders=host%3Bx-amz-content-sha256";
  Result<std::string> canonical =
      CanonicalRequest(request, {"host", "x-amz-content-sha256"}, empty_sha256);
  ASSERT_TRUE(canonical.ok());
  request.query +=
      "&X-Amz-Signature=" +
      Signature(SigningKey(kSecret, kScope), StringToSign("20130524T000000Z", kScope, *canonical));
  auto outcome = VerifyRequest(request, Lookup(), kMay24Ms);
  ASSERT_EQ(Outcome(outcome), "OK");
  EXPECT_EQ(std::get<VerifiedRequest>(outcome).payload_hash, empty_sha256);

  // The same URL with the header left unsigned is refused before the key.
  net::Request unsigned_header = ExampleRequest();
  unsigned_header.headers.Add("x-amz-content-sha256", empty_sha256);
  EXPECT_EQ(Outcome(VerifyRequest(unsigned_header, Lookup(), kMay24Ms)), "AccessDenied");
}

TEST(Presigned, MalformedParameters) {
  struct Case {
    std::string from, to, code;
  };
  std::vector<Case> cases = {
      {"X-Amz-Expires=86400&", "", "AuthorizationQueryParametersError"},
      {"&X-Amz-Signature=", "&X-Amz-Signaturex=", "AuthorizationQueryParametersError"},
      {"AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", "AuthorizationQueryParametersError"},
      {"X-Amz-Date=20130524T000000Z", "X-Amz-Date=2013-05-24", "AuthorizationQueryParametersError"},
      {"X-Amz-Expires=86400", "X-Amz-Expires=604801", "AuthorizationQueryParametersError"},
      {"X-Amz-Expires=86400", "X-Amz-Expires=0", "AuthorizationQueryParametersError"},
      {"X-Amz-Expires=86400", "X-Amz-Expires=-1", "AuthorizationQueryParametersError"},
      {"X-Amz-Expires=86400", "X-Amz-Expires=1d", "AuthorizationQueryParametersError"},
      {"%2Fs3%2F", "%2Fec2%2F", "AuthorizationQueryParametersError"},
      {"%2F20130524%2F", "%2F20130525%2F", "AuthorizationQueryParametersError"},
      {"%2Faws4_request", "%2Faws5_request", "AuthorizationQueryParametersError"},
      {"SignedHeaders=host", "SignedHeaders=Host", "AuthorizationQueryParametersError"},
      {"AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLF", "InvalidAccessKeyId"},
      {"Signature=aeee", "Signature=beee", "SignatureDoesNotMatch"},
      {"SignedHeaders=host", "SignedHeaders=range", "AccessDenied"},  // host unsigned
  };
  for (const Case& c : cases) {
    auto outcome =
        VerifyRequest(ExampleRequest(Replace(kExampleQuery, c.from, c.to)), Lookup(), kMay24Ms);
    EXPECT_EQ(Outcome(outcome), c.code) << c.from << " -> " << c.to << ": " << Message(outcome);
  }
  auto too_long =
      VerifyRequest(ExampleRequest(Replace(kExampleQuery, "Expires=86400", "Expires=604801")),
                    Lookup(), kMay24Ms);
  EXPECT_EQ(Message(too_long),
            "X-Amz-Expires must be less than a week (in seconds); that is, the given "
            "X-Amz-Expires must be less than 604800 seconds");
  EXPECT_EQ(std::get<S3Error>(too_long).http_status(), 400);
}

TEST(Presigned, UnsignedExtraHeaderAndBothMechanisms) {
  net::Request extra = ExampleRequest();
  extra.headers.Add("x-amz-meta-owner", "mallory");
  EXPECT_EQ(Outcome(VerifyRequest(extra, Lookup(), kMay24Ms)), "AccessDenied");
  net::Request both = ExampleRequest();
  both.headers.Add("Authorization", "AWS4-HMAC-SHA256 Credential=x");
  EXPECT_EQ(Outcome(VerifyRequest(both, Lookup(), kMay24Ms)), "InvalidArgument");
}

}  // namespace
}  // namespace holdfast::s3
