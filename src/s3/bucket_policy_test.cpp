// Bucket policies: what parses, what is refused and why, and how statements
// combine (explicit Deny wins, then Allow).
#include "s3/bucket_policy.h"

#include <gtest/gtest.h>

namespace holdfast::s3 {
namespace {

BucketPolicy Parse(std::string_view json, std::string_view bucket = "photos") {
  auto parsed = ParseBucketPolicy(json, bucket);
  if (auto* error = std::get_if<S3Error>(&parsed)) {
    ADD_FAILURE() << error->code << ": " << error->message << "\n" << json;
    return {};
  }
  return std::get<BucketPolicy>(parsed);
}

// The MalformedPolicy message, or "OK".
std::string Refusal(std::string_view json, std::string_view bucket = "photos") {
  auto parsed = ParseBucketPolicy(json, bucket);
  if (auto* error = std::get_if<S3Error>(&parsed)) {
    EXPECT_EQ(error->code, "MalformedPolicy");
    EXPECT_EQ(error->http_status(), 400);
    return error->message;
  }
  return "OK";
}

std::string Statement(std::string_view principal, std::string_view action, std::string_view resource,
                      std::string_view effect = "Allow") {
  return "{\"Effect\":\"" + std::string(effect) + "\",\"Principal\":" + std::string(principal) +
         ",\"Action\":" + std::string(action) + ",\"Resource\":" + std::string(resource) + "}";
}

std::string Policy(std::initializer_list<std::string> statements) {
  std::string out = "{\"Version\":\"2012-10-17\",\"Statement\":[";
  bool first = true;
  for (const std::string& s : statements) {
    out += (first ? "" : ",") + s;
    first = false;
  }
  return out + "]}";
}

PolicyDecision Decide(const BucketPolicy& policy, std::string_view user, std::string_view action,
                      std::string_view key) {
  return EvaluateBucketPolicy(policy, user, action, key.empty() ? BucketArn("photos") : ObjectArn("photos", key));
}

TEST(WildcardMatch, StarAndQuestionMark) {
  EXPECT_TRUE(WildcardMatch("*", ""));
  EXPECT_TRUE(WildcardMatch("a*c", "abbbc"));
  EXPECT_TRUE(WildcardMatch("a*c", "ac"));
  EXPECT_FALSE(WildcardMatch("a*c", "acb"));
  EXPECT_TRUE(WildcardMatch("a?c", "abc"));
  EXPECT_FALSE(WildcardMatch("a?c", "ac"));
  EXPECT_TRUE(WildcardMatch("*/*.jpg", "x/y/z.jpg"));
  EXPECT_FALSE(WildcardMatch("Public/*", "public/x"));  // case-sensitive
  EXPECT_TRUE(WildcardMatch("a**b", "ab"));
  EXPECT_FALSE(WildcardMatch("", "a"));
}

TEST(BucketPolicy, GrantsReadUnderAPrefixToOneUser) {
  BucketPolicy policy = Parse(Policy({Statement(R"({"AWS":"arn:aws:iam::holdfast:user/bob"})",
                                                R"("s3:GetObject")", R"("arn:aws:s3:::photos/public/*")")}));
  EXPECT_EQ(Decide(policy, "bob", "s3:GetObject", "public/cat.jpg"), PolicyDecision::kAllow);
  EXPECT_EQ(Decide(policy, "bob", "S3:GETOBJECT", "public/cat.jpg"), PolicyDecision::kAllow);  // actions ignore case
  EXPECT_EQ(Decide(policy, "bob", "s3:GetObject", "private/cat.jpg"), PolicyDecision::kNone);
  EXPECT_EQ(Decide(policy, "bob", "s3:PutObject", "public/cat.jpg"), PolicyDecision::kNone);
  EXPECT_EQ(Decide(policy, "carol", "s3:GetObject", "public/cat.jpg"), PolicyDecision::kNone);
  EXPECT_EQ(Decide(policy, "", "s3:GetObject", "public/cat.jpg"), PolicyDecision::kNone);
}

TEST(BucketPolicy, ExplicitDenyWinsOverAnyAllow) {
  BucketPolicy policy = Parse(Policy({
      Statement(R"({"AWS":["bob","carol"]})", R"("s3:*")", R"(["arn:aws:s3:::photos","arn:aws:s3:::photos/*"])"),
      Statement(R"("*")", R"(["s3:DeleteObject","s3:Get*"])", R"("arn:aws:s3:::photos/secret/*")", "Deny"),
  }));
  EXPECT_EQ(Decide(policy, "bob", "s3:PutObject", "secret/x"), PolicyDecision::kAllow);
  EXPECT_EQ(Decide(policy, "bob", "s3:GetObject", "secret/x"), PolicyDecision::kDeny);
  EXPECT_EQ(Decide(policy, "bob", "s3:GetObjectVersion", "secret/x"), PolicyDecision::kDeny);
  EXPECT_EQ(Decide(policy, "carol", "s3:DeleteObject", "secret/x"), PolicyDecision::kDeny);
  EXPECT_EQ(Decide(policy, "alice", "s3:GetObject", "secret/x"), PolicyDecision::kDeny);  // "*" is everyone
  EXPECT_EQ(Decide(policy, "carol", "s3:ListBucket", ""), PolicyDecision::kAllow);
  EXPECT_EQ(Decide(policy, "dave", "s3:ListBucket", ""), PolicyDecision::kNone);
}

TEST(BucketPolicy, AnonymousOnlyThroughStar) {
  BucketPolicy policy = Parse(Policy({Statement(R"("*")", R"("s3:GetObject")", R"("arn:aws:s3:::photos/*")"),
                                      Statement(R"({"AWS":"*"})", R"("s3:ListBucket")", R"("arn:aws:s3:::photos")")}));
  EXPECT_EQ(Decide(policy, "", "s3:GetObject", "a"), PolicyDecision::kAllow);
  EXPECT_EQ(Decide(policy, "", "s3:ListBucket", ""), PolicyDecision::kAllow);
  EXPECT_EQ(Decide(policy, "", "s3:PutObject", "a"), PolicyDecision::kNone);
  // A named user never matches an unsigned request.
  BucketPolicy named = Parse(Policy({Statement(R"({"AWS":"bob"})", R"("s3:GetObject")", R"("arn:aws:s3:::photos/*")")}));
  EXPECT_EQ(Decide(named, "", "s3:GetObject", "a"), PolicyDecision::kNone);
}

TEST(BucketPolicy, SingleStatementObjectAndOptionalFields) {
  BucketPolicy policy = Parse(
      R"({"Id":"p1","Version":"2008-10-17","Statement":{"Sid":"one","Effect":"Allow","Principal":{"AWS":"bob"},)"
      R"("Action":"s3:List*","Resource":"arn:aws:s3:::photos"}})");
  ASSERT_EQ(policy.statements.size(), 1u);
  EXPECT_EQ(policy.statements[0].sid, "one");
  EXPECT_EQ(Decide(policy, "bob", "s3:ListBucketVersions", ""), PolicyDecision::kAllow);
  // A wildcard in the bucket part still names this bucket.
  EXPECT_EQ(Refusal(Policy({Statement(R"("*")", R"("s3:GetObject")", R"("arn:aws:s3:::pho*/x?")")})), "OK");
}

TEST(BucketPolicy, RefusesWhatItCannotHonour) {
  const std::string ok = Statement(R"("*")", R"("s3:GetObject")", R"("arn:aws:s3:::photos/*")");
  EXPECT_EQ(Refusal(Policy({ok})), "OK");
  EXPECT_EQ(Refusal("not json"), "Policies must be valid JSON and the first byte must be '{'");
  EXPECT_EQ(Refusal("[1]"), "Policies must be valid JSON and the first byte must be '{'");
  EXPECT_EQ(Refusal(R"({"Version":"2012-10-17"})"), "Missing required field Statement");
  EXPECT_EQ(Refusal(R"({"Version":"2020-01-01","Statement":[)" + ok + "]}"),
            "The policy must contain a valid version string (2012-10-17 or 2008-10-17)");
  EXPECT_EQ(Refusal(R"({"Statement":[)" + ok + R"(],"Extra":1})"), "Unknown field Extra");
  EXPECT_EQ(Refusal(Policy({R"({"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"})"})),
            "Missing required field Principal");
  EXPECT_EQ(Refusal(Policy({Statement(R"("*")", R"("s3:GetObject")", R"("arn:aws:s3:::photos/*")", "Maybe")})),
            "Invalid effect: \"Maybe\" (Allow or Deny)");
  EXPECT_EQ(Refusal(Policy({Statement(R"("*")", R"("s3:GetObjects")", R"("arn:aws:s3:::photos/*")")})),
            "Policy has invalid action: s3:GetObjects");
  EXPECT_EQ(Refusal(Policy({Statement(R"("*")", R"("iam:*")", R"("arn:aws:s3:::photos/*")")})),
            "Policy has invalid action: iam:*");
  EXPECT_NE(Refusal(Policy({Statement(R"("*")", R"("s3:GetObject")", R"("arn:aws:s3:::other/*")")})).find(
                "Policy has invalid resource: arn:aws:s3:::other/*"),
            std::string::npos);
  EXPECT_NE(Refusal(Policy({Statement(R"({"AWS":"arn:aws:iam::123456789012:root"})", R"("s3:GetObject")",
                                      R"("arn:aws:s3:::photos/*")")}))
                .find("Invalid principal in policy"),
            std::string::npos);
  EXPECT_NE(Refusal(Policy({Statement(R"({"Service":"s3.amazonaws.com"})", R"("s3:GetObject")",
                                      R"("arn:aws:s3:::photos/*")")}))
                .find("Invalid principal in policy"),
            std::string::npos);
  // An object action on the bucket alone could never apply.
  EXPECT_EQ(Refusal(Policy({Statement(R"("*")", R"("s3:GetObject")", R"("arn:aws:s3:::photos")")})),
            "Action does not apply to any resource(s) in statement");
  EXPECT_EQ(Refusal(Policy({Statement(R"("*")", R"("s3:ListBucket")", R"("arn:aws:s3:::photos/*")")})),
            "Action does not apply to any resource(s) in statement");
  EXPECT_NE(Refusal(Policy({R"({"Effect":"Allow","Principal":"*","Action":"s3:GetObject",)"
                            R"("Resource":"arn:aws:s3:::photos/*","Condition":{"Bool":{"aws:SecureTransport":"true"}}})"}))
                .find("Condition is not supported"),
            std::string::npos);
  EXPECT_EQ(Refusal(std::string(kMaxBucketPolicyBytes + 1, ' ')), "Policies must be less than 20 KB");
}

}  // namespace
}  // namespace holdfast::s3
