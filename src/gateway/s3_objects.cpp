// Object-level S3 operations: PUT, GET/HEAD (with Range), DELETE.
#include <algorithm>
#include <cctype>

#include "common/digest.h"
#include "common/log.h"
#include "gateway/http_range.h"
#include "gateway/object_reader.h"
#include "gateway/object_writer.h"
#include "gateway/s3_body.h"
#include "gateway/s3_request.h"
#include "s3/s3_ops.h"

namespace holdfast::gateway {

using net::Task;

namespace {

constexpr std::string_view kUserMetaPrefix = "x-amz-meta-";
constexpr size_t kMaxUserMetadataBytes = 2048;  // S3's limit for x-amz-meta-*
// Standard headers S3 stores with an object and returns on GET and HEAD.
constexpr std::string_view kStoredHeaders[] = {"cache-control", "content-disposition",
                                               "content-encoding", "content-language", "expires"};

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

s3::S3Error S3ErrorForWrite(const WriteError& error, const std::string& resource) {
  switch (error.failure) {
    case WriteFailure::kUploadGone:
      return NoSuchUpload(resource);
    case WriteFailure::kTooFewNodes:
      return s3::MakeS3Error("ServiceUnavailable", error.message, resource);
    case WriteFailure::kClientGone:
      return s3::MakeS3Error("IncompleteBody", error.message, resource);
    case WriteFailure::kMd5Mismatch:
      return s3::MakeS3Error("BadDigest", error.message, resource);
    case WriteFailure::kSha256Mismatch:
      return s3::MakeS3Error("XAmzContentSHA256Mismatch", error.message, resource);
    case WriteFailure::kBucketGone:
      return s3::MakeS3Error("NoSuchBucket", "The specified bucket does not exist", resource);
    case WriteFailure::kLocked:
      return s3::MakeS3Error("AccessDenied", error.message, resource);
    case WriteFailure::kPreconditionFailed:
      return s3::MakeS3Error("PreconditionFailed", std::string(s3::kPreconditionFailedMessage), resource);
    case WriteFailure::kInternal:
      break;
  }
  return s3::MakeS3Error("InternalError", error.message, resource);
}

// Content type, user metadata and the stored standard headers, from the
// request's headers (PUT, and copies with x-amz-metadata-directive REPLACE).
std::optional<s3::S3Error> ParseObjectAttributes(const S3Request& r, WriteRequest* out) {
  WriteRequest& request = *out;
  const net::Headers& h = r.http.headers;
  request.content_type = std::string(h.Get("Content-Type").value_or("binary/octet-stream"));
  for (std::string_view name : kStoredHeaders) {
    if (auto value = h.Get(name)) request.headers[std::string(name)] = std::string(*value);
  }
  // "aws-chunked" describes this request's framing, not the object.
  if (auto encoding = request.headers.find("content-encoding"); encoding != request.headers.end()) {
    std::string kept;
    size_t start = 0;
    const std::string& value = encoding->second;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      std::string token = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      token.erase(0, token.find_first_not_of(' '));
      token.erase(token.find_last_not_of(' ') + 1);
      if (!token.empty() && token != "aws-chunked") kept += (kept.empty() ? "" : ",") + token;
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (kept.empty()) {
      request.headers.erase(encoding);
    } else {
      encoding->second = kept;
    }
  }
  size_t metadata_bytes = 0;
  for (const auto& [name, value] : h.all()) {
    std::string lower = Lower(name);
    if (!lower.starts_with(kUserMetaPrefix)) continue;
    std::string key = lower.substr(kUserMetaPrefix.size());
    metadata_bytes += key.size() + value.size();
    request.user_metadata[key] = value;
  }
  if (metadata_bytes > kMaxUserMetadataBytes) {
    return s3::MakeS3Error("MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size.", r.resource());
  }
  if (auto md5 = h.Get("Content-MD5")) {
    std::string raw;
    if (!Base64Decode(*md5, &raw) || raw.size() != 16) {
      return s3::MakeS3Error("InvalidDigest", "The Content-MD5 you specified was invalid.", r.resource());
    }
    request.expected_md5 = raw;
  }
  return std::nullopt;
}

namespace {

// Builds the write request from headers; an S3 error if they are unusable.
std::variant<WriteRequest, s3::S3Error> ParsePutHeaders(const S3Request& r) {
  WriteRequest request;
  request.bucket = r.target.bucket;
  request.key = r.target.key;
  if (!r.http.content_length) {
    return s3::MakeS3Error("MissingContentLength", "You must provide the Content-Length HTTP header.", r.resource());
  }
  request.content_length = r.auth.chunked ? r.auth.chunked->decoded_length_bytes : *r.http.content_length;
  if (request.content_length > r.ctx.settings.max_object_size_bytes) {
    return s3::MakeS3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.", r.resource());
  }
  if (auto error = ParseObjectAttributes(r, &request)) return *error;
  if (r.auth.payload_hash.size() == 64) request.expected_sha256_hex = r.auth.payload_hash;
  return request;
}

}  // namespace

Task<void> SendErrorWithHeaders(S3Request& r, const s3::S3Error& error, net::Headers headers) {
  if (r.is_head()) {
    (void)co_await r.out.WriteHead(error.http_status(), headers, 0);
    (void)co_await r.out.Finish();
    co_return;
  }
  headers.Set("Content-Type", "application/xml");
  (void)co_await r.out.Send(error.http_status(), headers, s3::RenderErrorXml(error, r.request_id));
}

void AddObjectHeaders(const meta::ObjectVersion& v, net::Headers* headers) {
  headers->Set("ETag", "\"" + v.etag + "\"");
  headers->Set("Last-Modified", s3::HttpDate(v.created_unix_ms));
  headers->Set("Content-Type", v.content_type);
  headers->Set("Accept-Ranges", "bytes");
  for (const auto& [key, value] : v.user_metadata) {
    headers->Set(std::string(kUserMetaPrefix) + key, value);
  }
  for (const auto& [name, value] : v.headers) headers->Set(name, value);
  s3::AddObjectLockHeaders(v.lock, headers);
}


namespace {

// The entity tags of an If-Match list ("a", "b" or *), unquoted. Weak tags
// never match on a write (strong comparison), so they are left out.
std::vector<std::string> IfMatchEtags(std::string_view list) {
  std::vector<std::string> etags;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string_view tag = list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (!tag.empty() && !tag.starts_with("W/")) {
      if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"') tag = tag.substr(1, tag.size() - 2);
      etags.emplace_back(tag);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return etags;
}

}  // namespace

// Conditional writes (If-None-Match: *, If-Match). Checked twice: here,
// before any byte is stored, so that a write bound to fail fails fast with
// S3's codes; and again by the store inside the commit transaction (the
// returned condition), so that of two racing conditional writers only one
// can commit.
Task<std::variant<meta::WriteCondition, s3::S3Error>> WritePreconditions(S3Request& r) {
  meta::WriteCondition condition;
  auto if_none_match = r.http.headers.Get("If-None-Match");
  auto if_match = r.http.headers.Get("If-Match");
  if (!if_none_match && !if_match) co_return condition;
  auto current = co_await net::RunBlocking(
      r.ctx.blocking_pool, [&] { return r.ctx.store.GetObject(r.target.bucket, r.target.key); });
  std::optional<std::string> etag;
  if (current && current->kind != meta::VersionKind::kDeleteMarker) etag = current->etag;
  auto error = s3::CheckWritePreconditions(r.http.headers, etag);
  if (error) {
    if (error->resource.empty()) error->resource = r.resource();
    co_return *error;
  }
  condition.if_none_match = if_none_match.has_value();
  if (if_match) condition.if_match_etags = IfMatchEtags(*if_match);
  if (if_match && condition.if_match_etags.empty()) {
    // Only weak tags: nothing can match (the check above said as much).
    co_return s3::MakeS3Error("PreconditionFailed", std::string(s3::kPreconditionFailedMessage), r.resource());
  }
  co_return condition;
}

void AddWrittenVersionHeader(meta::Versioning versioning, const meta::ObjectVersion& version, net::Headers* headers) {
  if (versioning != meta::Versioning::kNeverEnabled) headers->Set("x-amz-version-id", meta::S3VersionId(version));
}

Task<void> PutObject(S3Request& r) {
  if (auto error = s3::CheckObjectKey(r.target.key)) co_return co_await SendError(r, *error);
  auto bucket = co_await RequireBucketAccess(r, "s3:PutObject");
  if (!bucket) co_return;
  auto parsed = ParsePutHeaders(r);
  if (auto* error = std::get_if<s3::S3Error>(&parsed)) co_return co_await SendError(r, *error);
  WriteRequest& request = std::get<WriteRequest>(parsed);
  auto lock = RequestedLock(r, *bucket, /*has_body=*/true);
  if (auto* error = std::get_if<s3::S3Error>(&lock)) co_return co_await SendError(r, *error);
  request.lock = std::get<meta::ObjectLock>(lock);
  auto condition = co_await WritePreconditions(r);
  if (auto* error = std::get_if<s3::S3Error>(&condition)) co_return co_await SendError(r, *error);
  request.condition = std::get<meta::WriteCondition>(condition);
  auto body = S3BodyReader::Create(r.http, r.auth, r.body);
  if (auto* error = std::get_if<s3::S3Error>(&body)) co_return co_await SendError(r, *error);
  S3BodyReader& verified_body = *std::get<std::unique_ptr<S3BodyReader>>(body);

  auto outcome = co_await WriteObject(r.ctx, request, verified_body);
  if (auto* error = std::get_if<WriteError>(&outcome)) {
    HF_LOG_WARN("PUT {} failed: {}", r.resource(), error->message);
    // A body that failed verification says best what went wrong.
    s3::S3Error reported = verified_body.failure() ? *verified_body.failure() : S3ErrorForWrite(*error, r.resource());
    if (reported.resource.empty()) reported.resource = r.resource();
    co_return co_await SendError(r, reported);
  }
  const WriteOutcome& done = std::get<WriteOutcome>(outcome);
  if (done.shards_written < done.version.data_shard_count + done.version.parity_shard_count) {
    HF_LOG_INFO("PUT {} stored under-protected: {} of {} shards (repair will complete it)",
                r.resource(), done.shards_written,
                done.version.data_shard_count + done.version.parity_shard_count);
  }
  net::Headers headers = BaseHeaders(r);
  headers.Set("ETag", "\"" + done.version.etag + "\"");
  // The id the store committed, under the versioning in force at the commit.
  AddWrittenVersionHeader(done.versioning, done.version, &headers);
  co_await SendEmpty(r, 200, headers);
}

namespace {

// GetObject's query parameters that replace a response header.
constexpr std::pair<std::string_view, std::string_view> kResponseHeaderOverrides[] = {
    {"response-content-type", "Content-Type"},
    {"response-content-language", "Content-Language"},
    {"response-expires", "Expires"},
    {"response-cache-control", "Cache-Control"},
    {"response-content-disposition", "Content-Disposition"},
    {"response-content-encoding", "Content-Encoding"}};

// GET / HEAD ?partNumber=N (AWS GetObject PartNumber): the bytes of part N
// of a multipart object (N counts the parts of the completed object, 1 to
// x-amz-mp-parts-count, which is added to `headers`), or, for any other
// object, N = 1 for all of it. InvalidArgument for a malformed N or one with
// a Range header; InvalidPartNumber (416) for a part that does not exist.
std::variant<ByteRange, s3::S3Error> PartRange(const S3Request& r, const meta::ObjectVersion& v,
                                               net::Headers* headers) {
  auto number = s3::ParsePartNumber(r.QueryValue("partNumber"));
  if (auto* error = std::get_if<s3::S3Error>(&number)) {
    s3::S3Error e = *error;
    e.resource = r.resource();
    return e;
  }
  if (r.http.headers.Has("Range")) {
    return s3::MakeS3Error("InvalidRequest", "Cannot specify both Range header and partNumber query parameter",
                           r.resource());
  }
  const size_t n = static_cast<size_t>(std::get<int>(number));
  const size_t count = v.kind == meta::VersionKind::kMultipart ? v.parts.size() : 1;
  if (n > count) {
    return s3::MakeS3Error("InvalidPartNumber", "The requested partnumber is not satisfiable", r.resource());
  }
  ByteRange range;
  range.kind = ByteRange::Kind::kPartial;
  range.first = 0;
  range.length = v.size_bytes;
  if (v.kind == meta::VersionKind::kMultipart) {
    headers->Set("x-amz-mp-parts-count", std::to_string(count));
    range.first = v.parts[n - 1].offset_bytes;
    range.length = v.parts[n - 1].data.size_bytes;
  }
  return range;
}

}  // namespace

Task<void> GetObject(S3Request& r) {
  const bool by_version = r.HasQuery("versionId");
  std::string action = by_version ? "s3:GetObjectVersion" : "s3:GetObject";
  auto bucket = co_await RequireBucketAccess(r, action);
  if (!bucket) co_return;
  const std::string wanted = r.QueryValue("versionId");
  if (by_version) {
    if (auto error = CheckVersionId(wanted, r.resource())) co_return co_await SendError(r, *error);
  }
  auto version = co_await net::RunBlocking(r.ctx.blocking_pool, [&] {
    return by_version ? r.ctx.store.GetObjectVersion(r.target.bucket, r.target.key, wanted)
                      : r.ctx.store.GetObject(r.target.bucket, r.target.key);
  });
  if (!version) {
    if (version.error().code == Errc::kNotFound && by_version) {
      co_return co_await SendError(r, s3::MakeS3Error("NoSuchVersion", "The specified version does not exist.", r.resource()));
    }
    if (version.error().code == Errc::kNotFound) {
      co_return co_await SendError(r, s3::MakeS3Error("NoSuchKey", "The specified key does not exist.", r.resource()));
    }
    co_return co_await SendError(r, s3::FromError(version.error(), r.resource()));
  }
  const meta::ObjectVersion& v = *version;
  if (v.kind == meta::VersionKind::kDeleteMarker) {
    // As S3: the current version being a marker reads as a missing key; a
    // marker asked for by id is a resource GET and HEAD do not apply to.
    net::Headers headers = BaseHeaders(r);
    headers.Set("x-amz-delete-marker", "true");
    headers.Set("x-amz-version-id", meta::S3VersionId(v));
    s3::S3Error error = by_version ? s3::MakeS3Error("MethodNotAllowed", "The specified method is not allowed against this resource.", r.resource())
                                   : s3::MakeS3Error("NoSuchKey", "The specified key does not exist.", r.resource());
    co_return co_await SendErrorWithHeaders(r, error, std::move(headers));
  }
  net::Headers headers = BaseHeaders(r);
  AddObjectHeaders(v, &headers);
  // S3's response header overrides (e.g. a download as an attachment under
  // another name); like S3, only for an authenticated caller.
  if (!r.anonymous()) {
    for (auto [parameter, header] : kResponseHeaderOverrides) {
      if (r.HasQuery(parameter)) headers.Set(std::string(header), r.QueryValue(parameter));
    }
  }
  if (by_version || bucket->versioning != meta::Versioning::kNeverEnabled) {
    headers.Set("x-amz-version-id", meta::S3VersionId(v));
  }
  switch (s3::EvaluatePreconditions(s3::GetPreconditions(r.http.headers), v.etag, v.created_unix_ms)) {
    case s3::PreconditionOutcome::kProceed:
      break;
    case s3::PreconditionOutcome::kNotModified:
      co_return co_await SendEmpty(r, 304, headers);
    case s3::PreconditionOutcome::kFailed:
      co_return co_await SendError(r, s3::MakeS3Error("PreconditionFailed", std::string(s3::kPreconditionFailedMessage), r.resource()));
  }

  ByteRange range;
  if (r.HasQuery("partNumber")) {
    auto part = PartRange(r, v, &headers);
    if (auto* error = std::get_if<s3::S3Error>(&part)) co_return co_await SendError(r, *error);
    range = std::get<ByteRange>(part);
  } else if (auto header = r.http.headers.Get("Range")) {
    range = ParseRange(*header, v.size_bytes);
  }
  if (range.kind == ByteRange::Kind::kUnsatisfiable) {
    co_return co_await SendError(r, s3::MakeS3Error("InvalidRange", "The requested range is not satisfiable", r.resource()));
  }
  uint64_t first = 0, length = v.size_bytes;
  int status = 200;
  if (range.kind == ByteRange::Kind::kPartial && range.length == 0) {
    status = 206;  // an empty part or object asked for by number: nothing to range over
    length = 0;
  } else if (range.kind == ByteRange::Kind::kPartial) {
    first = range.first;
    length = range.length;
    status = 206;
    headers.Set("Content-Range", "bytes " + std::to_string(first) + "-" +
                                     std::to_string(first + length - 1) + "/" + std::to_string(v.size_bytes));
  }
  if (r.is_head()) {
    (void)co_await r.out.WriteHead(status, headers, length);
    (void)co_await r.out.Finish();
    co_return;
  }
  auto reader = co_await OpenObjectReader(r.ctx, v, first, length);
  if (!reader) {
    HF_LOG_WARN("GET {} failed: {}", r.resource(), reader.error().message);
    // Say which shards are missing: the operator and the client both need it.
    s3::S3Error error = reader.error().code == Errc::kUnavailable
                            ? s3::MakeS3Error("ServiceUnavailable", reader.error().message, r.resource())
                            : s3::FromError(reader.error(), r.resource());
    co_return co_await SendError(r, error);
  }
  if (!co_await r.out.WriteHead(status, headers, length)) co_return;
  while (true) {
    auto piece = co_await (*reader)->Next();
    if (!piece) {
      // Headers are out: all we can do is cut the transfer short so the
      // client knows it did not get the object.
      HF_LOG_ERROR("GET {} failed mid-body: {}", r.resource(), piece.error().message);
      r.out.Abort();
      co_return;
    }
    if (piece->empty()) break;
    if (!co_await r.out.WriteBody(*piece)) co_return;
  }
  (void)co_await r.out.Finish();
}

Task<void> DeleteObject(S3Request& r) {
  std::string action = r.HasQuery("versionId") ? "s3:DeleteObjectVersion" : "s3:DeleteObject";
  auto bucket = co_await RequireBucketAccess(r, action);
  if (!bucket) co_return;
  std::string version_id = r.HasQuery("versionId") ? r.QueryValue("versionId") : "";
  if (r.HasQuery("versionId") && version_id.empty()) {
    co_return co_await SendError(r, s3::MakeS3Error("InvalidArgument", "Version id cannot be the empty string", r.resource()));
  }
  // Bypassing governance retention stays the owner's (with the operator's
  // permission): a policy cannot grant it.
  meta::LockBypass bypass = meta::LockBypass::kNone;
  if (bucket->owner_id == r.auth.user_id) bypass = co_await GovernanceBypass(r);
  // S3 answers 204 whether or not the key existed.
  auto deleted = co_await DeleteKey(r, r.target.key, version_id, bypass);
  if (auto* error = std::get_if<s3::S3Error>(&deleted)) co_return co_await SendError(r, *error);
  const meta::DeleteOutcome& done = std::get<meta::DeleteOutcome>(deleted);
  net::Headers headers = BaseHeaders(r);
  if (done.delete_marker) headers.Set("x-amz-delete-marker", "true");
  if (!done.s3_version_id.empty()) headers.Set("x-amz-version-id", done.s3_version_id);
  co_await SendEmpty(r, 204, headers);
}

}  // namespace holdfast::gateway
