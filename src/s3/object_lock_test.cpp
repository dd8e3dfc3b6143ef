#include <gtest/gtest.h>

#include "s3/s3_ops.h"

namespace holdfast::s3 {
namespace {

constexpr int64_t k2030 = 1'893'456'000'000;  // 2030-01-01T00:00:00Z

std::string CodeOf(const S3Error& error) { return error.code; }

TEST(ObjectLockTest, IsoDatesAsSdksSendThem) {
  EXPECT_EQ(ParseIsoDate("2030-01-01T00:00:00Z"), k2030);
  EXPECT_EQ(ParseIsoDate("2030-01-01T00:00:00.000Z"), k2030);
  EXPECT_EQ(ParseIsoDate("2030-01-01T00:00:00.123456Z"), k2030 + 123);
  EXPECT_EQ(ParseIsoDate("2030-01-01T00:00:00.5Z"), k2030 + 500);
  EXPECT_EQ(ParseIsoDate("2030-01-01T02:00:00+02:00"), k2030);
  EXPECT_EQ(ParseIsoDate("2029-12-31T23:00:00-01:00"), k2030);
  EXPECT_FALSE(ParseIsoDate("2030-01-01"));
  EXPECT_FALSE(ParseIsoDate("2030-02-30T00:00:00Z"));
  EXPECT_FALSE(ParseIsoDate("2030-01-01T00:00:00"));
  EXPECT_FALSE(ParseIsoDate("2030-01-01T00:00:00.Z"));
  EXPECT_FALSE(ParseIsoDate("2030-01-01T00:00:00Zjunk"));
  EXPECT_EQ(IsoDate(k2030 + 7), "2030-01-01T00:00:00.007Z");
}

TEST(ObjectLockTest, WriteHeaders) {
  net::Headers headers;
  auto none = ParseObjectLockHeaders(headers, 0);
  ASSERT_TRUE(std::holds_alternative<meta::ObjectLock>(none));
  EXPECT_TRUE(std::get<meta::ObjectLock>(none).empty());

  headers.Set("x-amz-object-lock-mode", "COMPLIANCE");
  auto half = ParseObjectLockHeaders(headers, 0);
  ASSERT_TRUE(std::holds_alternative<S3Error>(half));
  EXPECT_EQ(CodeOf(std::get<S3Error>(half)), "InvalidArgument");

  headers.Set("x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00Z");
  headers.Set("x-amz-object-lock-legal-hold", "ON");
  auto full = ParseObjectLockHeaders(headers, 0);
  ASSERT_TRUE(std::holds_alternative<meta::ObjectLock>(full));
  const meta::ObjectLock& lock = std::get<meta::ObjectLock>(full);
  EXPECT_EQ(lock.mode, meta::RetentionMode::kCompliance);
  EXPECT_EQ(lock.retain_until_unix_ms, k2030);
  EXPECT_EQ(lock.legal_hold, meta::LegalHold::kOn);

  auto past = ParseObjectLockHeaders(headers, k2030);
  ASSERT_TRUE(std::holds_alternative<S3Error>(past));
  EXPECT_EQ(std::get<S3Error>(past).message, "The retain until date must be in the future!");

  headers.Set("x-amz-object-lock-mode", "compliance");
  EXPECT_TRUE(std::holds_alternative<S3Error>(ParseObjectLockHeaders(headers, 0)));
  headers.Set("x-amz-object-lock-mode", "GOVERNANCE");
  headers.Set("x-amz-object-lock-legal-hold", "on");
  EXPECT_TRUE(std::holds_alternative<S3Error>(ParseObjectLockHeaders(headers, 0)));

  net::Headers out;
  AddObjectLockHeaders(lock, &out);
  EXPECT_EQ(out.Get("x-amz-object-lock-mode"), "COMPLIANCE");
  EXPECT_EQ(out.Get("x-amz-object-lock-retain-until-date"), "2030-01-01T00:00:00.000Z");
  EXPECT_EQ(out.Get("x-amz-object-lock-legal-hold"), "ON");
  net::Headers nothing;
  AddObjectLockHeaders(meta::ObjectLock{}, &nothing);
  EXPECT_TRUE(nothing.all().empty());
}

TEST(ObjectLockTest, LockConfiguration) {
  auto parsed = ParseObjectLockConfiguration(
      "<ObjectLockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<ObjectLockEnabled>Enabled</ObjectLockEnabled>"
      "<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>3</Days></DefaultRetention></Rule>"
      "</ObjectLockConfiguration>");
  ASSERT_TRUE(std::holds_alternative<meta::DefaultRetention>(parsed));
  const auto& retention = std::get<meta::DefaultRetention>(parsed);
  EXPECT_EQ(retention.mode, meta::RetentionMode::kGovernance);
  EXPECT_EQ(retention.days, 3);
  EXPECT_EQ(retention.years, 0);
  EXPECT_EQ(RenderObjectLockConfiguration(retention),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ObjectLockConfiguration "
            "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
            "<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>3</Days></DefaultRetention></Rule>"
            "</ObjectLockConfiguration>");

  auto enabled_only = ParseObjectLockConfiguration(
      "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>");
  ASSERT_TRUE(std::holds_alternative<meta::DefaultRetention>(enabled_only));
  EXPECT_EQ(std::get<meta::DefaultRetention>(enabled_only).mode, meta::RetentionMode::kNone);

  auto code = [](std::string_view body) {
    auto result = ParseObjectLockConfiguration(body);
    return std::holds_alternative<S3Error>(result) ? std::get<S3Error>(result).code : std::string("ok");
  };
  EXPECT_EQ(code("<ObjectLockConfiguration/>"), "MalformedXML");
  EXPECT_EQ(code("<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled></ObjectLockConfiguration>"),
            "MalformedXML");
  EXPECT_EQ(code("<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>"
                 "<Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years></DefaultRetention></Rule>"
                 "</ObjectLockConfiguration>"),
            "MalformedXML");
  EXPECT_EQ(code("<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>"
                 "<Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>"),
            "MalformedXML");
  EXPECT_EQ(code("<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>"
                 "<Mode>COMPLIANCE</Mode><Days>0</Days></DefaultRetention></Rule></ObjectLockConfiguration>"),
            "InvalidArgument");
  EXPECT_EQ(code("<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>"
                 "<Mode>COMPLIANCE</Mode><Years>101</Years></DefaultRetention></Rule></ObjectLockConfiguration>"),
            "InvalidArgument");
}

TEST(ObjectLockTest, RetentionAndLegalHold) {
  auto parsed = ParseRetention("<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-01T00:00:00Z"
                               "</RetainUntilDate></Retention>");
  ASSERT_TRUE(std::holds_alternative<meta::ObjectLock>(parsed));
  EXPECT_EQ(std::get<meta::ObjectLock>(parsed).mode, meta::RetentionMode::kCompliance);
  EXPECT_EQ(std::get<meta::ObjectLock>(parsed).retain_until_unix_ms, k2030);
  EXPECT_EQ(RenderRetention(std::get<meta::ObjectLock>(parsed)),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-01T00:00:00.000Z</RetainUntilDate></Retention>");
  auto removal = ParseRetention("<Retention/>");
  ASSERT_TRUE(std::holds_alternative<meta::ObjectLock>(removal));
  EXPECT_EQ(std::get<meta::ObjectLock>(removal).mode, meta::RetentionMode::kNone);
  EXPECT_TRUE(std::holds_alternative<S3Error>(ParseRetention("<Retention><Mode>GOVERNANCE</Mode></Retention>")));
  EXPECT_TRUE(std::holds_alternative<S3Error>(
      ParseRetention("<Retention><Mode>SOFT</Mode><RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate></Retention>")));
  EXPECT_TRUE(std::holds_alternative<S3Error>(ParseRetention("<Nope/>")));

  auto on = ParseLegalHold("<LegalHold xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>ON</Status></LegalHold>");
  ASSERT_TRUE(std::holds_alternative<bool>(on));
  EXPECT_TRUE(std::get<bool>(on));
  auto off = ParseLegalHold("<LegalHold><Status>OFF</Status></LegalHold>");
  ASSERT_TRUE(std::holds_alternative<bool>(off));
  EXPECT_FALSE(std::get<bool>(off));
  EXPECT_TRUE(std::holds_alternative<S3Error>(ParseLegalHold("<LegalHold><Status>on</Status></LegalHold>")));
  EXPECT_TRUE(std::holds_alternative<S3Error>(ParseLegalHold("<LegalHold/>")));
  EXPECT_EQ(RenderLegalHold(false),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LegalHold xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Status>OFF</Status></LegalHold>");
}

}  // namespace
}  // namespace holdfast::s3
