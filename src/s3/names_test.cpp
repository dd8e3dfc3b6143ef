#include <gtest/gtest.h>

#include "s3/s3.h"

namespace holdfast::s3 {
namespace {

std::string BucketError(std::string_view name) {
  std::optional<S3Error> error = CheckBucketName(name);
  return error ? error->code : "OK";
}

std::string KeyError(std::string_view key) {
  std::optional<S3Error> error = CheckObjectKey(key);
  return error ? error->code : "OK";
}

TEST(CheckBucketName, AcceptsValidNames) {
  for (std::string name : {"abc", "my-bucket", "my.bucket.example", "a1b", "123", "0-9",
                           "bucket.1.2.3", "xn-a", "sthree", "ends-in-s3alias1"}) {
    EXPECT_EQ(BucketError(name), "OK") << name;
  }
  EXPECT_EQ(BucketError(std::string(63, 'a')), "OK");
}

TEST(CheckBucketName, RejectsInvalidNames) {
  std::vector<std::string> bad = {
      "",          "ab",          std::string(64, 'a'),
      "Abc",       "my_bucket",   "my bucket",
      "-abc",      "abc-",        ".abc",
      "abc.",      "a..b",        "192.168.5.4",
      "1.2.3.4",   "xn--bucket",  "sthree-bucket",
      "b-s3alias", "b--ol-s3",    "b.mrap",
      "b--x-s3",   "caf\xC3\xA9",
  };
  for (const std::string& name : bad) {
    std::optional<S3Error> error = CheckBucketName(name);
    ASSERT_TRUE(error.has_value()) << name;
    EXPECT_EQ(error->code, "InvalidBucketName") << name;
    EXPECT_EQ(error->http_status(), 400);
    EXPECT_EQ(error->resource, name);
  }
}

TEST(CheckObjectKey, LengthLimits) {
  EXPECT_EQ(KeyError("a"), "OK");
  EXPECT_EQ(KeyError(std::string(1024, 'k')), "OK");
  std::optional<S3Error> too_long = CheckObjectKey(std::string(1025, 'k'));
  ASSERT_TRUE(too_long.has_value());
  EXPECT_EQ(too_long->code, "KeyTooLongError");
  EXPECT_EQ(too_long->message, "Your key is too long");
  EXPECT_EQ(too_long->http_status(), 400);
  EXPECT_EQ(KeyError(""), "InvalidArgument");
  // The limit is in bytes: 341 three-byte characters fit, 342 do not.
  std::string three_byte;
  for (int i = 0; i < 341; ++i) three_byte += "\xE1\x88\xB4";
  EXPECT_EQ(KeyError(three_byte), "OK");
  EXPECT_EQ(KeyError(three_byte + "\xE1\x88\xB4"), "KeyTooLongError");
}

TEST(CheckObjectKey, PathLikeKeysAreOrdinary) {
  for (std::string key : {"../etc/passwd", "a/../../b", "./x", "a//b", "/leading", "trailing/",
                          " spaces ", "percent%2Fliteral", "tab\there", "new\nline", "\x7F"}) {
    EXPECT_EQ(KeyError(key), "OK") << key;
  }
}

TEST(CheckObjectKey, Utf8) {
  EXPECT_EQ(KeyError("\xE1\x88\xB4"), "OK");      // U+1234
  EXPECT_EQ(KeyError("\xF0\x9F\x98\x80"), "OK");  // U+1F600
  EXPECT_EQ(KeyError("\xF4\x8F\xBF\xBF"), "OK");  // U+10FFFF
  EXPECT_EQ(KeyError("\xEF\xBF\xBD"), "OK");      // U+FFFD
  std::vector<std::string> bad = {
      "\x80",                  // lone continuation byte
      "a\xC3",                 // truncated sequence
      "\xE1\x88",              // truncated sequence
      "\xC0\xAF",              // overlong '/'
      "\xC1\xBF",              // overlong
      "\xE0\x80\xAF",          // overlong '/'
      "\xF0\x80\x80\xAF",      // overlong '/'
      "\xED\xA0\x80",          // U+D800, a surrogate
      "\xED\xBF\xBF",          // U+DFFF, a surrogate
      "\xF4\x90\x80\x80",      // U+110000
      "\xF8\x88\x80\x80\x80",  // five-byte form
      "\xFF",
      "\xE1\x28\xB4",  // bad continuation
  };
  for (const std::string& key : bad) EXPECT_EQ(KeyError(key), "InvalidArgument") << key;
}

TEST(CheckObjectKey, NulIsRefused) {
  EXPECT_EQ(KeyError(std::string("a\0b", 3)), "InvalidArgument");
  EXPECT_EQ(KeyError(std::string("\0", 1)), "InvalidArgument");
}

// ---- ParseTarget --------------------------------------------------------------

net::Request RequestFor(std::string path, std::string host = "localhost:9000") {
  net::Request request;
  request.method = "GET";
  request.target = request.path = std::move(path);
  request.headers.Add("Host", std::move(host));
  return request;
}

Target ParseOk(const net::Request& request, std::string_view base_domain = "") {
  std::variant<Target, S3Error> parsed = ParseTarget(request, base_domain);
  if (auto* error = std::get_if<S3Error>(&parsed)) {
    ADD_FAILURE() << request.path << ": " << error->code;
    return {};
  }
  return std::get<Target>(parsed);
}

std::string ParseErrorCode(const net::Request& request, std::string_view base_domain = "") {
  std::variant<Target, S3Error> parsed = ParseTarget(request, base_domain);
  auto* error = std::get_if<S3Error>(&parsed);
  return error ? error->code : "OK";
}

TEST(ParseTarget, PathStyle) {
  struct Case {
    std::string path, bucket, key;
  };
  std::vector<Case> cases = {
      {"/", "", ""},
      {"", "", ""},
      {"/bucket", "bucket", ""},
      {"/bucket/", "bucket", ""},
      {"/bucket/key", "bucket", "key"},
      {"/bucket/dir/sub/file.txt", "bucket", "dir/sub/file.txt"},
      {"/bucket/a%20b%2Fc", "bucket", "a b/c"},
      {"/bucket/a+b", "bucket", "a+b"},
      {"/bucket//double", "bucket", "/double"},
      {"/bucket/../x/./y//z/", "bucket", "../x/./y//z/"},
      {"/bucket/%2E%2E/up", "bucket", "../up"},
      {"/bucket/\xE1\x88\xB4", "bucket", "\xE1\x88\xB4"},
      {"/a%2Fb/key", "a/b", "key"},  // the split happens before decoding
  };
  for (const Case& c : cases) {
    Target target = ParseOk(RequestFor(c.path));
    EXPECT_EQ(target.bucket, c.bucket) << c.path;
    EXPECT_EQ(target.key, c.key) << c.path;
  }
}

TEST(ParseTarget, VirtualHostedStyle) {
  Target target =
      ParseOk(RequestFor("/photos/2024/a%20b.jpg", "media.s3.example.com:9000"), "s3.example.com");
  EXPECT_EQ(target.bucket, "media");
  EXPECT_EQ(target.key, "photos/2024/a b.jpg");

  target = ParseOk(RequestFor("/", "my.dotted.bucket.S3.Example.COM"), "s3.example.com");
  EXPECT_EQ(target.bucket, "my.dotted.bucket");
  EXPECT_EQ(target.key, "");

  target = ParseOk(RequestFor("//x/../y", "b.s3.example.com"), "s3.example.com");
  EXPECT_EQ(target.bucket, "b");
  EXPECT_EQ(target.key, "/x/../y");

  // The base domain itself, another domain, or no base domain: path style.
  target = ParseOk(RequestFor("/bucket/key", "s3.example.com:443"), "s3.example.com");
  EXPECT_EQ(target.bucket, "bucket");
  EXPECT_EQ(target.key, "key");
  target = ParseOk(RequestFor("/bucket/key", "b.other.com"), "s3.example.com");
  EXPECT_EQ(target.bucket, "bucket");
  target = ParseOk(RequestFor("/bucket/key", "b.xs3.example.com"), "s3.example.com");
  EXPECT_EQ(target.bucket, "bucket");
  target = ParseOk(RequestFor("/bucket/key", "b.s3.example.com"), "");
  EXPECT_EQ(target.bucket, "bucket");
  target = ParseOk(RequestFor("/bucket/key", "[::1]:9000"), "s3.example.com");
  EXPECT_EQ(target.bucket, "bucket");
}

TEST(ParseTarget, MalformedPaths) {
  EXPECT_EQ(ParseErrorCode(RequestFor("/bucket/%zz")), "InvalidURI");
  EXPECT_EQ(ParseErrorCode(RequestFor("/bucket/%4")), "InvalidURI");
  EXPECT_EQ(ParseErrorCode(RequestFor("/b%G0/key")), "InvalidURI");
  EXPECT_EQ(ParseErrorCode(RequestFor("/key%", "b.s3.example.com"), "s3.example.com"),
            "InvalidURI");
  EXPECT_EQ(ParseErrorCode(RequestFor("*")), "InvalidURI");
  EXPECT_EQ(ParseErrorCode(RequestFor("//key")), "InvalidURI");
}

}  // namespace
}  // namespace holdfast::s3
