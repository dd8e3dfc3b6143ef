// The per-request context handed to each S3 operation: small and explicit.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "gateway/context.h"
#include "net/http.h"
#include "s3/s3.h"

namespace holdfast::gateway {

struct S3Request {
  net::Request& http;
  net::BodyReader& body;
  net::ResponseWriter& out;
  GatewayContext& ctx;
  std::string request_id;
  std::vector<std::pair<std::string, std::string>> query;  // decoded
  s3::Target target;
  s3::VerifiedRequest auth;

  bool is_head() const { return http.method == "HEAD"; }
  // An unsigned request (docs/s3-compatibility.md): no user; only a bucket
  // policy with Principal "*" lets it do anything.
  bool anonymous() const { return auth.user_id.empty(); }
  bool HasQuery(std::string_view name) const;
  std::string QueryValue(std::string_view name) const;  // "" if absent
  std::string resource() const;                         // "/bucket/key"
};

// Shared query parameters of the listings: a page limit such as max-keys,
// max-parts or max-uploads (absent = 1000; larger values capped at 1000, as
// S3 does; anything but a non-negative integer is InvalidArgument), and
// encoding-type (absent, empty or "url").
std::variant<int, s3::S3Error> ParseListLimit(const S3Request& request, std::string_view name);
std::optional<s3::S3Error> CheckEncodingType(const S3Request& request);

// Response helpers shared by the operations.
net::Headers BaseHeaders(const S3Request& request);
net::Task<void> SendError(S3Request& request, const s3::S3Error& error);
net::Task<void> SendXml(S3Request& request, int status, const std::string& xml);
// An error with extra response headers (e.g. x-amz-delete-marker); `headers`
// must include BaseHeaders.
net::Task<void> SendErrorWithHeaders(S3Request& request, const s3::S3Error& error, net::Headers headers);
net::Task<void> SendEmpty(S3Request& request, int status, net::Headers headers);
// Reads a small request body (bucket configuration XML), verifying the
// declared SHA-256. Errors as S3 errors.
net::Task<std::variant<std::string, s3::S3Error>> ReadSmallBody(S3Request& request, size_t limit);

// Operations (s3_buckets.cpp, s3_objects.cpp).
net::Task<void> ListBuckets(S3Request& request);
net::Task<void> CreateBucket(S3Request& request);
net::Task<void> DeleteBucket(S3Request& request);
net::Task<void> HeadBucket(S3Request& request);
net::Task<void> GetBucketLocation(S3Request& request);
net::Task<void> ListObjectsV2(S3Request& request);
net::Task<void> PutObject(S3Request& request);
net::Task<void> GetObject(S3Request& request);  // GET and HEAD
net::Task<void> DeleteObject(S3Request& request);
net::Task<void> CopyObject(S3Request& request);   // PUT with x-amz-copy-source
net::Task<void> ListObjectsV1(S3Request& request);
net::Task<void> DeleteObjects(S3Request& request);  // POST ?delete

// Multipart uploads (s3_multipart.cpp; UploadPartCopy in s3_copy.cpp).
net::Task<void> CreateMultipartUpload(S3Request& request);  // POST ?uploads
net::Task<void> UploadPart(S3Request& request);             // PUT ?partNumber&uploadId
net::Task<void> UploadPartCopy(S3Request& request);         // ... with x-amz-copy-source
net::Task<void> CompleteMultipartUpload(S3Request& request);  // POST ?uploadId
net::Task<void> AbortMultipartUpload(S3Request& request);     // DELETE ?uploadId
net::Task<void> ListParts(S3Request& request);                // GET ?uploadId
net::Task<void> ListMultipartUploads(S3Request& request);     // GET bucket?uploads

// Versioning (s3_versioning.cpp).
net::Task<void> GetBucketVersioning(S3Request& request);  // GET ?versioning
net::Task<void> PutBucketVersioning(S3Request& request);  // PUT ?versioning
net::Task<void> ListObjectVersions(S3Request& request);   // GET ?versions
// InvalidArgument unless "null" or a Holdfast version id (32 hex digits).
std::optional<s3::S3Error> CheckVersionId(std::string_view s3_version_id, const std::string& resource);
// DELETE of `key` in the request's bucket: of one version when
// `s3_version_id` is set, otherwise as the bucket's versioning says (a
// delete marker, or the removal of the current or null version). Deleting
// something that is not there succeeds, as in S3. A version Object Lock
// protects is AccessDenied, naming the hold or retention (`bypass`: see
// GovernanceBypass).
net::Task<std::variant<meta::DeleteOutcome, s3::S3Error>> DeleteKey(S3Request& request, std::string key,
                                                                    std::string s3_version_id,
                                                                    meta::LockBypass bypass);

// Object Lock (s3_object_lock.cpp; docs/object-lock.md).
net::Task<void> GetObjectLockConfiguration(S3Request& request);  // GET bucket?object-lock
net::Task<void> PutObjectLockConfiguration(S3Request& request);  // PUT bucket?object-lock
net::Task<void> GetObjectRetention(S3Request& request);          // GET ?retention
net::Task<void> PutObjectRetention(S3Request& request);          // PUT ?retention
net::Task<void> GetObjectLegalHold(S3Request& request);          // GET ?legal-hold
net::Task<void> PutObjectLegalHold(S3Request& request);          // PUT ?legal-hold
// kGovernance only if the request carries x-amz-bypass-governance-retention:
// true and the operator allowed its user to bypass governance retention.
net::Task<meta::LockBypass> GovernanceBypass(S3Request& request);
// The lock a write asks for in its x-amz-object-lock-* headers (an empty
// one if none): the header errors of s3::ParseObjectLockHeaders, or
// InvalidRequest if the bucket has no Object Lock or, for a write with a
// body (`has_body`), no Content-MD5 / x-amz-checksum-* protects it.
std::variant<meta::ObjectLock, s3::S3Error> RequestedLock(const S3Request& request, const meta::Bucket& bucket,
                                                          bool has_body);
// CreateBucket's x-amz-bucket-object-lock-enabled: true.
bool WantsObjectLock(const S3Request& request);

struct WriteRequest;
struct PartTarget;
struct WriteError;
// The S3 error for a failed write (PUT, UploadPart, copies).
s3::S3Error S3ErrorForWrite(const WriteError& error, const std::string& resource);
s3::S3Error NoSuchUpload(const std::string& resource);
// The upload named by ?uploadId, if it exists for this bucket and key;
// otherwise sends NoSuchUpload and returns nullopt.
net::Task<std::optional<meta::MultipartUpload>> RequireUpload(S3Request& request);
// ?partNumber and ?uploadId of UploadPart / UploadPartCopy, checked; sends
// the error and returns nullopt if either is unusable.
net::Task<std::optional<PartTarget>> RequirePartTarget(S3Request& request);
// Content type, x-amz-meta-*, stored standard headers and Content-MD5 from
// the request's headers into `out`.
std::optional<s3::S3Error> ParseObjectAttributes(const S3Request& request, WriteRequest* out);
// If-None-Match / If-Match on a write: checked against the key's current
// version now (PreconditionFailed, NoSuchKey, NotImplemented), and returned
// as the condition the commit must check again atomically.
net::Task<std::variant<meta::WriteCondition, s3::S3Error>> WritePreconditions(S3Request& request);
// x-amz-version-id of a write, as the commit decided it (`versioning` at the
// commit): absent while versioning was never enabled.
void AddWrittenVersionHeader(meta::Versioning versioning, const meta::ObjectVersion& version,
                             net::Headers* headers);
// Response headers describing an object version (ETag, Last-Modified,
// Content-Type, metadata, stored headers).
void AddObjectHeaders(const meta::ObjectVersion& version, net::Headers* headers);

// Access to buckets (s3_policy.cpp; docs/s3-compatibility.md).
// The bucket, if it exists and the caller owns it; otherwise sends the
// error (NoSuchBucket / AccessDenied) and returns nullopt. For what only the
// owner may do, whatever the bucket policy says (bucket configuration, the
// policy itself, Object Lock settings).
net::Task<std::optional<meta::Bucket>> RequireOwnedBucket(S3Request& request);
// The bucket, if it exists (NoSuchBucket sent otherwise); no access check.
net::Task<std::optional<meta::Bucket>> RequireBucket(S3Request& request);
// The bucket, if it exists and MayAccess says the caller may do `action`
// on the request's object (or the bucket, for a request without a key);
// otherwise sends NoSuchBucket / AccessDenied and returns nullopt.
net::Task<std::optional<meta::Bucket>> RequireBucketAccess(S3Request& request, std::string action);
// Whether the caller may do `action` ("s3:GetObject", ...) on `key` of
// `bucket` ("" = the bucket itself): an explicit Deny in the bucket policy
// refuses anyone, the owner included; then the owner, or whoever an Allow
// names, may. Cheap: the parsed policy is cached (policy_cache.h).
bool MayAccess(const S3Request& request, const meta::Bucket& bucket, std::string_view action,
               std::string_view key);
net::Task<void> PutBucketPolicy(S3Request& request);     // PUT bucket?policy
net::Task<void> GetBucketPolicy(S3Request& request);     // GET bucket?policy
net::Task<void> DeleteBucketPolicy(S3Request& request);  // DELETE bucket?policy

}  // namespace holdfast::gateway
