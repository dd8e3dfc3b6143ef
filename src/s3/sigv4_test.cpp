// SigV4 against AWS's published vectors: the four worked examples of the S3
// API Reference ("Examples: Signature Calculations in AWS Signature Version
// 4", header-based auth), and cases from the generic aws-sig-v4-test-suite.
// Then VerifyRequest's decisions.
#include <gtest/gtest.h>

#include <initializer_list>

#include "common/digest.h"
#include "s3/s3.h"

namespace holdfast::s3 {
namespace {

using HeaderList = std::initializer_list<std::pair<std::string, std::string>>;

net::Request MakeRequest(std::string method, std::string target, HeaderList headers) {
  net::Request request;
  request.method = std::move(method);
  request.target = target;
  size_t question = target.find('?');
  request.path = target.substr(0, question);
  request.query = question == std::string::npos ? "" : target.substr(question + 1);
  for (const auto& [name, value] : headers) request.headers.Add(name, value);
  return request;
}

// ---- The S3 API Reference examples ----------------------------------------

constexpr std::string_view kS3AccessKey = "AKIAIOSFODNN7EXAMPLE";
constexpr std::string_view kS3Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kS3AmzDate = "20130524T000000Z";
constexpr int64_t kS3RequestTimeMs = 1369353600000;  // 2013-05-24T00:00:00Z
constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const SigningScope kS3Scope{"20130524", "us-east-1", "s3"};

struct Vector {
  std::string name;
  net::Request request;
  std::vector<std::string> signed_headers;
  std::string payload_hash;
  std::string canonical_request;  // empty: not published for this case
  std::string string_to_sign;     // empty: not published for this case
  std::string signature;
};

void CheckVector(const Vector& v, std::string_view amz_date, const SigningScope& scope,
                 std::string_view secret) {
  SCOPED_TRACE(v.name);
  Result<std::string> canonical = CanonicalRequest(v.request, v.signed_headers, v.payload_hash);
  ASSERT_TRUE(canonical.ok()) << canonical.error().message;
  if (!v.canonical_request.empty()) {
    EXPECT_EQ(*canonical, v.canonical_request);
  }
  std::string string_to_sign = StringToSign(amz_date, scope, *canonical);
  if (!v.string_to_sign.empty()) {
    EXPECT_EQ(string_to_sign, v.string_to_sign);
  }
  EXPECT_EQ(Signature(SigningKey(secret, scope), string_to_sign), v.signature);
}

std::vector<Vector> S3Examples() {
  std::string host = "examplebucket.s3.amazonaws.com";
  std::string empty(kEmptySha256);
  std::string put_hash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
  return {
      {"GET Object",
       MakeRequest("GET", "/test.txt",
                   {{"Host", host},
                    {"Range", "bytes=0-9"},
                    {"x-amz-content-sha256", empty},
                    {"x-amz-date", "20130524T000000Z"}}),
       {"host", "range", "x-amz-content-sha256", "x-amz-date"},
       empty,
       "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
       "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
       "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
       "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
       "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
      {"PUT Object",
       MakeRequest("PUT", "/test%24file.text",
                   {{"Host", host},
                    {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                    {"x-amz-date", "20130524T000000Z"},
                    {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                    {"x-amz-content-sha256", put_hash}}),
       {"date", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-storage-class"},
       put_hash,
       "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\n"
       "host:examplebucket.s3.amazonaws.com\n"
       "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
       "x-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"
       "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
       "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
       "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
       "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
       "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"},
      {"GET Bucket Lifecycle",
       MakeRequest(
           "GET", "/?lifecycle",
           {{"Host", host}, {"x-amz-date", "20130524T000000Z"}, {"x-amz-content-sha256", empty}}),
       {"host", "x-amz-content-sha256", "x-amz-date"},
       empty,
       "GET\n/\nlifecycle=\nhost:examplebucket.s3.amazonaws.com\n"
       "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
       "x-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
       "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
       "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"},
      {"Get Bucket (List Objects)",
       MakeRequest(
           "GET", "/?max-keys=2&prefix=J",
           {{"Host", host}, {"x-amz-date", "20130524T000000Z"}, {"x-amz-content-sha256", empty}}),
       {"host", "x-amz-content-sha256", "x-amz-date"},
       empty,
       "GET\n/\nmax-keys=2&prefix=J\nhost:examplebucket.s3.amazonaws.com\n"
       "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
       "x-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
       "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
       "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"},
  };
}

TEST(SigV4, S3ApiReferenceExamples) {
  for (const Vector& v : S3Examples()) CheckVector(v, kS3AmzDate, kS3Scope, kS3Secret);
}

TEST(SigV4, S3PutExamplePayloadHashIsSha256OfBody) {
  EXPECT_EQ(HexLower(Sha256(AsBytes("Welcome to Amazon S3."))),
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
}

TEST(SigV4, UnencodedPathCharactersAreEncodedOnce) {
  // The PUT example's key "test$file.text" sent raw gives the same canonical
  // URI as when sent encoded; an encoded '%' is not decoded twice.
  std::vector<std::string> none;
  auto uri_of = [&](const std::string& target) {
    Result<std::string> canonical = CanonicalRequest(MakeRequest("GET", target, {}), none, "x");
    EXPECT_TRUE(canonical.ok());
    return canonical.ok() ? canonical->substr(4, canonical->find('\n', 4) - 4) : "";
  };
  EXPECT_EQ(uri_of("/test$file.text"), "/test%24file.text");
  EXPECT_EQ(uri_of("/a%2520b"), "/a%2520b");
  EXPECT_EQ(uri_of("/a+b c"), "/a%2Bb%20c");
  // S3 does not normalise paths: dot segments and empty segments stay.
  EXPECT_EQ(uri_of("/b/../x//y/./z"), "/b/../x//y/./z");
  EXPECT_EQ(uri_of(""), "/");
}

TEST(SigV4, MalformedEscapesAreRejected) {
  EXPECT_FALSE(CanonicalRequest(MakeRequest("GET", "/a%zz", {}), {}, "x").ok());
  EXPECT_FALSE(CanonicalRequest(MakeRequest("GET", "/a?b=%4", {}), {}, "x").ok());
}

TEST(SigV4, QueryIsDecodedAndStrictlyReencoded) {
  Result<std::string> canonical = CanonicalRequest(
      MakeRequest("GET", "/?prefix=a%2Fb c&delimiter=%2F&marker=x~y&flag", {}), {}, "x");
  ASSERT_TRUE(canonical.ok());
  EXPECT_EQ(canonical->substr(0, canonical->find("\n\n")),
            "GET\n/\ndelimiter=%2F&flag=&marker=x~y&prefix=a%2Fb%20c");
}

// ---- aws-sig-v4-test-suite (service "service", us-east-1, 20150830) -------

constexpr std::string_view kSuiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kSuiteAmzDate = "20150830T123600Z";
const SigningScope kSuiteScope{"20150830", "us-east-1", "service"};

Vector Suite(std::string name, std::string method, std::string target, HeaderList extra,
             std::vector<std::string> signed_headers, std::string signature) {
  net::Request request =
      MakeRequest(std::move(method), std::move(target), {{"Host", "example.amazonaws.com"}});
  for (const auto& [field, value] : extra) request.headers.Add(field, value);
  request.headers.Add("X-Amz-Date", "20150830T123600Z");
  return Vector{std::move(name),
                std::move(request),
                std::move(signed_headers),
                std::string(kEmptySha256),
                "",
                "",
                std::move(signature)};
}

TEST(SigV4, GenericTestSuite) {
  std::vector<std::string> basic = {"host", "x-amz-date"};
  std::vector<std::string> my1 = {"host", "my-header1", "x-amz-date"};
  std::string unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::vector<Vector> vectors = {
      Suite("get-vanilla", "GET", "/", {}, basic,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
      Suite("get-vanilla-query-order-key-case", "GET", "/?Param2=value2&Param1=value1", {}, basic,
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
      Suite("get-vanilla-empty-query-key", "GET", "/?Param1=value1", {}, basic,
            "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"),
      Suite("get-vanilla-query-unreserved", "GET", "/?" + unreserved + "=" + unreserved, {}, basic,
            "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
      Suite("get-vanilla-utf8-query", "GET", "/?\xE1\x88\xB4=bar", {}, basic,
            "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
      Suite("get-unreserved", "GET", "/" + unreserved, {}, basic,
            "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
      Suite("get-utf8", "GET", "/\xE1\x88\xB4", {}, basic,
            "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
      Suite("get-space", "GET", "/example%20space/", {}, basic,
            "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"),
      Suite("get-header-value-trim", "GET", "/",
            {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}},
            {"host", "my-header1", "my-header2", "x-amz-date"},
            "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
      Suite("get-header-key-duplicate", "GET", "/",
            {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}}, my1,
            "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"),
      Suite("get-header-value-order", "GET", "/",
            {{"My-Header1", "value4"},
             {"My-Header1", "value1"},
             {"My-Header1", "value3"},
             {"My-Header1", "value2"}},
            my1, "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"),
      Suite("post-vanilla", "POST", "/", {}, basic,
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
      Suite("post-vanilla-empty-query-value", "POST", "/?Param1=value1", {}, basic,
            "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"),
      Suite("post-header-key-sort", "POST", "/", {{"My-Header1", "value1"}}, my1,
            "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"),
  };
  for (const Vector& v : vectors) CheckVector(v, kSuiteAmzDate, kSuiteScope, kSuiteSecret);
}

TEST(SigV4, GenericTestSuiteWithPublishedIntermediates) {
  Vector order_key = Suite("get-vanilla-query-order-key", "GET", "/?Param1=value2&Param1=Value1",
                           {}, {"host", "x-amz-date"},
                           "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1");
  order_key.canonical_request =
      "GET\n/\nParam1=Value1&Param1=value2\nhost:example.amazonaws.com\n"
      "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  order_key.string_to_sign =
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89";
  CheckVector(order_key, kSuiteAmzDate, kSuiteScope, kSuiteSecret);

  Vector form = Suite("post-x-www-form-urlencoded", "POST", "/",
                      {{"Content-Type", "application/x-www-form-urlencoded"}},
                      {"content-type", "host", "x-amz-date"},
                      "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
  form.payload_hash = HexLower(Sha256(AsBytes("Param1=value1")));
  form.canonical_request =
      "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\n"
      "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
      "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e";
  form.string_to_sign =
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
      "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281";
  CheckVector(form, kSuiteAmzDate, kSuiteScope, kSuiteSecret);
}

// ---- ParseAuthorizationHeader -----------------------------------------------

constexpr std::string_view kGetSignature =
    "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";

TEST(ParseAuthorizationHeader, AcceptsWithAndWithoutSpacesAfterCommas) {
  for (std::string separator : {",", ", ", ",  "}) {
    std::string value =
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request" +
        separator + "SignedHeaders=host;range;x-amz-date" + separator +
        "Signature=" + std::string(kGetSignature);
    Result<AuthorizationHeader> header = ParseAuthorizationHeader(value);
    ASSERT_TRUE(header.ok()) << header.error().message;
    EXPECT_EQ(header->access_key_id, "AKIAIOSFODNN7EXAMPLE");
    EXPECT_EQ(header->scope.date, "20130524");
    EXPECT_EQ(header->scope.region, "us-east-1");
    EXPECT_EQ(header->scope.service, "s3");
    EXPECT_EQ(header->signed_headers, (std::vector<std::string>{"host", "range", "x-amz-date"}));
    EXPECT_EQ(header->signature, kGetSignature);
  }
}

TEST(ParseAuthorizationHeader, RejectsMalformedHeaders) {
  std::string credential = "Credential=AKID/20130524/us-east-1/s3/aws4_request";
  std::string signed_headers = "SignedHeaders=host;x-amz-date";
  std::string signature = "Signature=" + std::string(kGetSignature);
  std::vector<std::string> bad = {
      "",
      "AWS4-HMAC-SHA256",
      "AWS4-HMAC-SHA256 ",
      "AWS4-HMAC-SHA1 " + credential + "," + signed_headers + "," + signature,
      "AWS4-HMAC-SHA256 " + signed_headers + "," + signature,
      "AWS4-HMAC-SHA256 " + credential + "," + signature,
      "AWS4-HMAC-SHA256 " + credential + "," + signed_headers,
      "AWS4-HMAC-SHA256 " + credential + "," + signed_headers + "," + signature + "," + signature,
      "AWS4-HMAC-SHA256 " + credential + "," + signed_headers + "," + signature + ",Extra=1",
      "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3," + signed_headers + "," + signature,
      "AWS4-HMAC-SHA256 Credential=AKID/2013052/us-east-1/s3/aws4_request," + signed_headers + "," +
          signature,
      "AWS4-HMAC-SHA256 Credential=/20130524/us-east-1/s3/aws4_request," + signed_headers + "," +
          signature,
      "AWS4-HMAC-SHA256 " + credential + ",SignedHeaders=Host;x-amz-date," + signature,
      "AWS4-HMAC-SHA256 " + credential + ",SignedHeaders=host;;x-amz-date," + signature,
      "AWS4-HMAC-SHA256 " + credential + "," + signed_headers + ",Signature=abc",
      "AWS4-HMAC-SHA256 " + credential + "," + signed_headers +
          ",Signature=" + std::string(64, 'A'),
  };
  for (const std::string& value : bad) {
    Result<AuthorizationHeader> header = ParseAuthorizationHeader(value);
    ASSERT_FALSE(header.ok()) << value;
    EXPECT_EQ(header.error().code, Errc::kInvalidArgument);
    EXPECT_FALSE(header.error().message.empty());
  }
}

}  // namespace
}  // namespace holdfast::s3
