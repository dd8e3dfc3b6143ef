// Conditional requests: RFC 7232's precedence, S3's two documented
// combinations, entity-tag lists, dates at second granularity, and
// conditional writes.
#include <gtest/gtest.h>

#include "s3/s3_ops.h"

namespace holdfast::s3 {
namespace {

constexpr int64_t kModifiedMs = 1255369800123;  // 2009-10-12T17:50:00.123Z
const std::string kEtag = "fba9dede5f27731c9771645a39863328";
const std::string kAtModified = "Mon, 12 Oct 2009 17:50:00 GMT";
const std::string kBefore = "Mon, 12 Oct 2009 17:49:59 GMT";
const std::string kAfter = "Mon, 12 Oct 2009 17:50:01 GMT";

using Outcome = PreconditionOutcome;

Outcome Evaluate(std::initializer_list<std::pair<std::string, std::string>> headers) {
  net::Headers h;
  for (const auto& [name, value] : headers) h.Add(name, value);
  return EvaluatePreconditions(GetPreconditions(h), kEtag, kModifiedMs);
}

TEST(Preconditions, NoneMeansProceed) { EXPECT_EQ(Evaluate({}), Outcome::kProceed); }

TEST(Preconditions, IfMatch) {
  EXPECT_EQ(Evaluate({{"If-Match", "\"" + kEtag + "\""}}), Outcome::kProceed);
  EXPECT_EQ(Evaluate({{"If-Match", kEtag}}), Outcome::kProceed);  // unquoted, as some send it
  EXPECT_EQ(Evaluate({{"If-Match", "*"}}), Outcome::kProceed);
  EXPECT_EQ(Evaluate({{"If-Match", "\"other\", \"" + kEtag + "\""}}), Outcome::kProceed);
  EXPECT_EQ(Evaluate({{"If-Match", "\"other\""}, {"If-Match", kEtag}}), Outcome::kProceed);
  EXPECT_EQ(Evaluate({{"If-Match", "\"other\""}}), Outcome::kFailed);
  EXPECT_EQ(Evaluate({{"If-Match", "W/\"" + kEtag + "\""}}), Outcome::kFailed);  // strong only
  EXPECT_EQ(Evaluate({{"If-Match", "\"*\""}}), Outcome::kFailed);  // a tag, not the wildcard
  EXPECT_EQ(Evaluate({{"If-Match", ""}}), Outcome::kFailed);
}

TEST(Preconditions, IfNoneMatch) {
  EXPECT_EQ(Evaluate({{"If-None-Match", "\"" + kEtag + "\""}}), Outcome::kNotModified);
  EXPECT_EQ(Evaluate({{"If-None-Match", "W/\"" + kEtag + "\""}}), Outcome::kNotModified);
  EXPECT_EQ(Evaluate({{"If-None-Match", "*"}}), Outcome::kNotModified);
  EXPECT_EQ(Evaluate({{"If-None-Match", "\"a,b\", \"" + kEtag + "\""}}), Outcome::kNotModified);
  EXPECT_EQ(Evaluate({{"If-None-Match", "\"other\""}}), Outcome::kProceed);
}

TEST(Preconditions, DatesCompareAtWholeSeconds) {
  EXPECT_EQ(Evaluate({{"If-Modified-Since", kAtModified}}), Outcome::kNotModified);
  EXPECT_EQ(Evaluate({{"If-Modified-Since", kAfter}}), Outcome::kNotModified);
  EXPECT_EQ(Evaluate({{"If-Modified-Since", kBefore}}), Outcome::kProceed);
  EXPECT_EQ(Evaluate({{"If-Unmodified-Since", kAtModified}}), Outcome::kProceed);
  EXPECT_EQ(Evaluate({{"If-Unmodified-Since", kBefore}}), Outcome::kFailed);
  // An invalid date is ignored, as if the header were absent.
  EXPECT_EQ(Evaluate({{"If-Modified-Since", "yesterday"}}), Outcome::kProceed);
  EXPECT_EQ(Evaluate({{"If-Unmodified-Since", "2009-10-12"}}), Outcome::kProceed);
}

TEST(Preconditions, PrecedenceAsS3DocumentsIt) {
  // If-Match true and If-Unmodified-Since false: 200 and the data.
  EXPECT_EQ(Evaluate({{"If-Match", kEtag}, {"If-Unmodified-Since", kBefore}}), Outcome::kProceed);
  // If-None-Match false and If-Modified-Since true: 304.
  EXPECT_EQ(Evaluate({{"If-None-Match", kEtag}, {"If-Modified-Since", kBefore}}),
            Outcome::kNotModified);
  // If-None-Match true decides over If-Modified-Since false.
  EXPECT_EQ(Evaluate({{"If-None-Match", "\"other\""}, {"If-Modified-Since", kAfter}}),
            Outcome::kProceed);
  // A failed If-Match is 412 even when If-None-Match would give 304.
  EXPECT_EQ(Evaluate({{"If-Match", "\"other\""}, {"If-None-Match", kEtag}}), Outcome::kFailed);
}

TEST(Preconditions, CopySourceHeaders) {
  net::Headers headers;
  headers.Add("x-amz-copy-source-if-match", "\"" + kEtag + "\"");
  headers.Add("x-amz-copy-source-if-modified-since", kAfter);
  headers.Add("If-Match", "\"other\"");  // the destination's, not the source's
  Preconditions source = GetCopySourcePreconditions(headers);
  EXPECT_EQ(source.if_match, "\"" + kEtag + "\"");
  EXPECT_FALSE(source.if_none_match.has_value());
  EXPECT_EQ(EvaluatePreconditions(source, kEtag, kModifiedMs), Outcome::kNotModified);
}

std::string Write(std::initializer_list<std::pair<std::string, std::string>> headers,
                  std::optional<std::string> current) {
  net::Headers h;
  for (const auto& [name, value] : headers) h.Add(name, value);
  std::optional<S3Error> error = CheckWritePreconditions(h, current);
  return error ? error->code : "OK";
}

TEST(WritePreconditions, IfNoneMatchStar) {
  EXPECT_EQ(Write({}, kEtag), "OK");
  EXPECT_EQ(Write({{"If-None-Match", "*"}}, std::nullopt), "OK");
  EXPECT_EQ(Write({{"If-None-Match", "*"}}, kEtag), "PreconditionFailed");
  EXPECT_EQ(Write({{"If-None-Match", "\"" + kEtag + "\""}}, std::nullopt), "NotImplemented");
}

TEST(WritePreconditions, IfMatch) {
  EXPECT_EQ(Write({{"If-Match", "\"" + kEtag + "\""}}, kEtag), "OK");
  EXPECT_EQ(Write({{"If-Match", kEtag}}, "\"" + kEtag + "\""), "OK");
  EXPECT_EQ(Write({{"If-Match", "\"other\""}}, kEtag), "PreconditionFailed");
  // No object: S3 answers 404 NoSuchKey, not 412.
  EXPECT_EQ(Write({{"If-Match", kEtag}}, std::nullopt), "NoSuchKey");
  // Dates do not apply to writes.
  EXPECT_EQ(Write({{"If-Unmodified-Since", kBefore}}, kEtag), "OK");
  net::Headers h;
  h.Add("If-None-Match", "*");
  std::optional<S3Error> error = CheckWritePreconditions(h, kEtag);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->http_status(), 412);
  EXPECT_EQ(error->message, kPreconditionFailedMessage);
}

}  // namespace
}  // namespace holdfast::s3
