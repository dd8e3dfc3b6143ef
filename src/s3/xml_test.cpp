// Error documents, XML bodies, continuation tokens and dates.
#include <gtest/gtest.h>

#include <pugixml.hpp>

#include "s3/s3.h"

namespace holdfast::s3 {
namespace {

constexpr int64_t kOct12_2009 = 1255369800000;  // 2009-10-12T17:50:00Z, a Monday
const std::string kDeclaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

// ---- Errors -------------------------------------------------------------------

TEST(S3Error, StatusTable) {
  std::vector<std::pair<std::string, int>> expected = {
      {"AccessDenied", 403},
      {"AuthorizationHeaderMalformed", 400},
      {"BadDigest", 400},
      {"BucketAlreadyExists", 409},
      {"BucketAlreadyOwnedByYou", 409},
      {"BucketNotEmpty", 409},
      {"EntityTooLarge", 400},
      {"EntityTooSmall", 400},
      {"IncompleteBody", 400},
      {"InternalError", 500},
      {"InvalidAccessKeyId", 403},
      {"InvalidArgument", 400},
      {"InvalidBucketName", 400},
      {"InvalidDigest", 400},
      {"InvalidRange", 416},
      {"InvalidRequest", 400},
      {"KeyTooLongError", 400},
      {"MalformedXML", 400},
      {"MethodNotAllowed", 405},
      {"MissingContentLength", 411},
      {"NoSuchBucket", 404},
      {"NoSuchKey", 404},
      {"NoSuchUpload", 404},
      {"NotImplemented", 501},
      {"OperationAborted", 409},
      {"PreconditionFailed", 412},
      {"RequestTimeTooSkewed", 403},
      {"RequestTimeout", 400},
      {"ServiceUnavailable", 503},
      {"SignatureDoesNotMatch", 403},
      {"SlowDown", 503},
      {"XAmzContentSHA256Mismatch", 400},
      {"InvalidURI", 400},
      {"MissingSecurityHeader", 400},
  };
  for (const auto& [code, status] : expected) {
    EXPECT_EQ(MakeS3Error(code, "m").http_status(), status) << code;
  }
  EXPECT_EQ(MakeS3Error("NoSuchThing", "m").http_status(), 500);
  EXPECT_EQ(MakeS3Error("", "m").http_status(), 500);
  EXPECT_EQ(MakeS3Error("nosuchkey", "m").http_status(), 500);  // codes are case-sensitive
}

TEST(S3Error, FromError) {
  struct Case {
    Errc code;
    std::string s3_code;
  };
  std::vector<Case> cases = {
      {Errc::kUnavailable, "ServiceUnavailable"},
      {Errc::kTooLarge, "EntityTooLarge"},
      {Errc::kInvalidArgument, "InvalidArgument"},
      {Errc::kPermission, "AccessDenied"},
      {Errc::kNotFound, "NoSuchKey"},
      {Errc::kConflict, "OperationAborted"},
      {Errc::kInternal, "InternalError"},
      {Errc::kIo, "InternalError"},
      {Errc::kCorrupt, "InternalError"},
      {Errc::kAlreadyExists, "InternalError"},
      {Errc::kInfeasible, "InternalError"},
  };
  for (const Case& c : cases) {
    S3Error error = FromError(MakeError(c.code, "detail"), "/b/k");
    EXPECT_EQ(error.code, c.s3_code) << ErrcName(c.code);
    EXPECT_EQ(error.resource, "/b/k");
  }
  EXPECT_EQ(FromError(MakeError(Errc::kTooLarge, "over 5 GiB")).message, "over 5 GiB");
  // Internal details stay in the server's log.
  EXPECT_EQ(FromError(MakeError(Errc::kIo, "/var/lib/x: EIO")).message.find("/var"),
            std::string::npos);
}

TEST(RenderErrorXml, Document) {
  S3Error error = MakeS3Error("NoSuchKey", "The specified key does not exist.", "/b/a&b");
  EXPECT_EQ(RenderErrorXml(error, "4442587FB7D0A2F9"),
            kDeclaration +
                "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist."
                "</Message><Resource>/b/a&amp;b</Resource><RequestId>4442587FB7D0A2F9"
                "</RequestId></Error>");
  EXPECT_EQ(RenderErrorXml(MakeS3Error("AccessDenied", "Access <Denied>"), "id"),
            kDeclaration +
                "<Error><Code>AccessDenied</Code><Message>Access &lt;Denied&gt;</Message>"
                "<RequestId>id</RequestId></Error>");
}

// ---- XmlEscape ----------------------------------------------------------------

TEST(XmlEscape, SpecialAndControlCharacters) {
  EXPECT_EQ(XmlEscape("plain/key.txt"), "plain/key.txt");
  EXPECT_EQ(XmlEscape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
  EXPECT_EQ(XmlEscape("tab\there\nnew"), "tab\there\nnew");
  EXPECT_EQ(XmlEscape("cr\r"), "cr&#xD;");
  EXPECT_EQ(XmlEscape("\x01\x1F"), "&#x1;&#x1F;");
  EXPECT_EQ(XmlEscape(std::string("\0", 1)), "&#x0;");
  EXPECT_EQ(XmlEscape("\xE1\x88\xB4\x7F"), "\xE1\x88\xB4\x7F");
  EXPECT_EQ(XmlEscape(""), "");
}

// ---- ListBuckets --------------------------------------------------------------

TEST(RenderListBuckets, Document) {
  std::vector<meta::Bucket> buckets = {{"alpha", "u1", "us-east-1", kOct12_2009},
                                       {"b&c", "u1", "us-east-1", kOct12_2009 + 1}};
  EXPECT_EQ(RenderListBuckets(buckets, "u1"),
            kDeclaration +
                "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                "<Owner><ID>u1</ID><DisplayName>u1</DisplayName></Owner><Buckets>"
                "<Bucket><Name>alpha</Name><CreationDate>2009-10-12T17:50:00.000Z</CreationDate>"
                "</Bucket><Bucket><Name>b&amp;c</Name>"
                "<CreationDate>2009-10-12T17:50:00.001Z</CreationDate></Bucket>"
                "</Buckets></ListAllMyBucketsResult>");
  EXPECT_EQ(RenderListBuckets({}, "u1"),
            kDeclaration +
                "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                "<Owner><ID>u1</ID><DisplayName>u1</DisplayName></Owner><Buckets></Buckets>"
                "</ListAllMyBucketsResult>");
}

// ---- ListObjectsV2 ------------------------------------------------------------

meta::ListResult TwoObjectsAndAPrefix() {
  meta::ListResult result;
  result.objects = {{"photos/a.jpg", 434234, "fba9dede5f27731c9771645a39863328", kOct12_2009},
                    {"photos/b c&d.jpg", 0, "d41d8cd98f00b204e9800998ecf8427e", kOct12_2009}};
  result.common_prefixes = {"photos/2009/"};
  return result;
}

TEST(RenderListObjectsV2, NotTruncated) {
  ListV2Params params;
  params.bucket = "bucket";
  params.prefix = "photos/";
  params.delimiter = "/";
  params.max_keys = 3;
  EXPECT_EQ(
      RenderListObjectsV2(params, TwoObjectsAndAPrefix(), "u1"),
      kDeclaration +
          "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
          "<Name>bucket</Name><Prefix>photos/</Prefix><Delimiter>/</Delimiter>"
          "<MaxKeys>3</MaxKeys><KeyCount>3</KeyCount><IsTruncated>false</IsTruncated>"
          "<Contents><Key>photos/a.jpg</Key><LastModified>2009-10-12T17:50:00.000Z</LastModified>"
          "<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size>"
          "<StorageClass>STANDARD</StorageClass></Contents>"
          "<Contents><Key>photos/b c&amp;d.jpg</Key>"
          "<LastModified>2009-10-12T17:50:00.000Z</LastModified>"
          "<ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>0</Size>"
          "<StorageClass>STANDARD</StorageClass></Contents>"
          "<CommonPrefixes><Prefix>photos/2009/</Prefix></CommonPrefixes>"
          "</ListBucketResult>");
}

TEST(RenderListObjectsV2, TruncatedWithTokensOwnerAndUrlEncoding) {
  ListV2Params params;
  params.bucket = "bucket";
  params.prefix = "photos/ ";
  params.delimiter = "/";
  params.start_after = "photos/0 0";
  params.continuation_token = MakeContinuationToken("photos/0");
  params.max_keys = 3;
  params.encoding_url = true;
  params.fetch_owner = true;
  meta::ListResult result = TwoObjectsAndAPrefix();
  result.is_truncated = true;
  result.next_start_after = "photos/2009/";
  std::string xml = RenderListObjectsV2(params, result, "u1");

  pugi::xml_document document;
  ASSERT_TRUE(document.load_string(xml.c_str()));
  pugi::xml_node root = document.child("ListBucketResult");
  EXPECT_STREQ(root.child_value("Prefix"), "photos/%20");
  EXPECT_STREQ(root.child_value("Delimiter"), "/");
  EXPECT_STREQ(root.child_value("StartAfter"), "photos/0%200");
  EXPECT_STREQ(root.child_value("EncodingType"), "url");
  EXPECT_STREQ(root.child_value("IsTruncated"), "true");
  EXPECT_STREQ(root.child_value("KeyCount"), "3");
  EXPECT_EQ(root.child_value("ContinuationToken"), params.continuation_token);
  Result<std::string> next = ParseContinuationToken(root.child_value("NextContinuationToken"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, "photos/2009/");
  pugi::xml_node second = root.child("Contents").next_sibling("Contents");
  EXPECT_STREQ(second.child_value("Key"), "photos/b%20c%26d.jpg");
  EXPECT_STREQ(second.child("Owner").child_value("ID"), "u1");
  EXPECT_STREQ(root.child("CommonPrefixes").child_value("Prefix"), "photos/2009/");
}

TEST(RenderListObjectsV2, ControlCharactersInKeysSurviveAParser) {
  ListV2Params params;
  params.bucket = "bucket";
  meta::ListResult result;
  result.objects = {{"a\rb\tc\nd", 1, "e", 0}};
  pugi::xml_document document;
  std::string xml = RenderListObjectsV2(params, result, "u1");
  ASSERT_TRUE(document.load_string(xml.c_str()));
  EXPECT_STREQ(document.child("ListBucketResult").child("Contents").child_value("Key"),
               "a\rb\tc\nd");
  EXPECT_STREQ(document.child("ListBucketResult").child_value("StartAfter"), "");
  EXPECT_FALSE(document.child("ListBucketResult").child("NextContinuationToken"));
}

// ---- Continuation tokens ------------------------------------------------------

TEST(ContinuationToken, RoundTrip) {
  std::vector<std::string> keys = {
      "a",      "photos/2009/",         "\xE1\x88\xB4/\xF0\x9F\x98\x80",
      "k?>~~~", std::string(1024, 'z'), "a+b/c=d"};
  for (const std::string& key : keys) {
    std::string token = MakeContinuationToken(key);
    EXPECT_EQ(token.find_first_of("+/ "), std::string::npos) << token;
    Result<std::string> parsed = ParseContinuationToken(token);
    ASSERT_TRUE(parsed.ok()) << key;
    EXPECT_EQ(*parsed, key);
  }
}

TEST(ContinuationToken, RejectsForeignTokens) {
  std::string valid = MakeContinuationToken("key");
  for (std::string token : {std::string(""), std::string("garbage"), std::string("a2V5"),  // "key"
                            std::string("djI6a2V5"),  // "v2:key"
                            valid + "=", " " + valid, valid.substr(1), std::string("====")}) {
    Result<std::string> parsed = ParseContinuationToken(token);
    ASSERT_FALSE(parsed.ok()) << token;
    EXPECT_EQ(parsed.error().code, Errc::kInvalidArgument);
    EXPECT_EQ(parsed.error().message, "The continuation token provided is incorrect");
  }
}

// ---- CreateBucketConfiguration ------------------------------------------------

std::string LocationOf(std::string_view body) {
  std::variant<std::string, S3Error> parsed = ParseCreateBucketConfiguration(body);
  if (auto* error = std::get_if<S3Error>(&parsed)) return "error:" + error->code;
  return std::get<std::string>(parsed);
}

TEST(ParseCreateBucketConfiguration, Bodies) {
  EXPECT_EQ(LocationOf(""), "");
  EXPECT_EQ(LocationOf(" \r\n\t"), "");
  EXPECT_EQ(LocationOf("<CreateBucketConfiguration "
                       "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
                       "  <LocationConstraint>eu-west-1</LocationConstraint>\n"
                       "</CreateBucketConfiguration>"),
            "eu-west-1");
  EXPECT_EQ(LocationOf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                       "<CreateBucketConfiguration><LocationConstraint/>"
                       "</CreateBucketConfiguration>"),
            "");
  EXPECT_EQ(LocationOf("<CreateBucketConfiguration/>"), "");
  EXPECT_EQ(LocationOf("\n  <!-- c --><CreateBucketConfiguration><LocationConstraint>"
                       " us-west-2 </LocationConstraint></CreateBucketConfiguration>\n"),
            " us-west-2 ");
}

TEST(ParseCreateBucketConfiguration, MalformedXml) {
  for (std::string body :
       {"<CreateBucketConfiguration>", "not xml", "<CreateBucketConfiguration></Other>", "<Other/>",
        "<CreateBucketConfiguration/><CreateBucketConfiguration/>",
        "<CreateBucketConfiguration/>trailing"}) {
    EXPECT_EQ(LocationOf(body), "error:MalformedXML") << body;
  }
  std::variant<std::string, S3Error> parsed = ParseCreateBucketConfiguration("<x");
  ASSERT_TRUE(std::holds_alternative<S3Error>(parsed));
  EXPECT_EQ(std::get<S3Error>(parsed).message,
            "The XML you provided was not well-formed or did not validate against our published "
            "schema");
  EXPECT_EQ(std::get<S3Error>(parsed).http_status(), 400);
}

// ---- Dates --------------------------------------------------------------------

TEST(Dates, HttpDate) {
  EXPECT_EQ(HttpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(HttpDate(kOct12_2009 + 999), "Mon, 12 Oct 2009 17:50:00 GMT");
  EXPECT_EQ(HttpDate(951782400000), "Tue, 29 Feb 2000 00:00:00 GMT");
  EXPECT_EQ(HttpDate(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
}

TEST(Dates, IsoDate) {
  EXPECT_EQ(IsoDate(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(IsoDate(kOct12_2009 + 123), "2009-10-12T17:50:00.123Z");
  EXPECT_EQ(IsoDate(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(IsoDate(4102444799999), "2099-12-31T23:59:59.999Z");
}

}  // namespace
}  // namespace holdfast::s3
