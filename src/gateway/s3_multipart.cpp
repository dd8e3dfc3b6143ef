// Multipart uploads: create, upload part, complete, abort, list parts, list
// uploads (UploadPartCopy is in s3_copy.cpp).
//
// Each part is written through the ordinary write path and erasure-coded on
// its own, under its own id, then recorded as part N of the upload
// (MetaStore::CommitPart); re-uploading a number replaces the part.
// Completing checks the requested list against the parts (S3's rules: every
// listed part exists with that ETag, ascending numbers, 5 MiB minimum but for
// the last) and turns the upload into one version in one transaction; the
// bytes are never copied. The version's id is the upload id.
//
// Decisions where S3 leaves room:
//   - Uploads nobody completes or aborts are aborted after
//     GatewayOptions::multipart_upload_expiry (default 7 days; S3 needs a
//     lifecycle rule for this) by the background sweeper.
//   - Deleting an empty bucket aborts the uploads still in it.
//   - Parts carry no x-amz-checksum-* of their own beyond what the request
//     verified; the object's ETag is S3's MD5-of-MD5s with "-N".
#include <charconv>
#include <map>

#include "common/digest.h"
#include "common/log.h"
#include "gateway/object_writer.h"
#include "gateway/s3_body.h"
#include "gateway/s3_request.h"
#include "s3/s3_ops.h"

namespace holdfast::gateway {

using net::Task;

s3::S3Error NoSuchUpload(const std::string& resource) {
  return s3::MakeS3Error("NoSuchUpload",
                         "The specified upload does not exist. The upload ID may be invalid, or the "
                         "upload may have been aborted or completed.",
                         resource);
}

namespace {

constexpr size_t kMaxCompleteBodyBytes = 4 << 20;  // 10,000 parts of ~150 bytes of XML each


}  // namespace

Task<std::optional<meta::MultipartUpload>> RequireUpload(S3Request& r) {
  std::string upload_id = r.QueryValue("uploadId");
  if (auto error = s3::CheckUploadId(upload_id)) {
    co_await SendError(r, NoSuchUpload(r.resource()));
    co_return std::nullopt;
  }
  auto upload = co_await net::RunBlocking(r.ctx.blocking_pool,
                                          [&] { return r.ctx.store.GetMultipartUpload(upload_id); });
  // An upload id is only good for the bucket and key it was created for.
  if (!upload || upload->bucket != r.target.bucket || upload->key != r.target.key) {
    if (upload || upload.error().code == Errc::kNotFound) {
      co_await SendError(r, NoSuchUpload(r.resource()));
    } else {
      co_await SendError(r, s3::FromError(upload.error(), r.resource()));
    }
    co_return std::nullopt;
  }
  co_return *upload;
}

Task<std::optional<PartTarget>> RequirePartTarget(S3Request& r) {
  auto number = s3::ParsePartNumber(r.QueryValue("partNumber"));
  if (auto* error = std::get_if<s3::S3Error>(&number)) {
    s3::S3Error e = *error;
    e.resource = r.resource();
    co_await SendError(r, e);
    co_return std::nullopt;
  }
  auto upload = co_await RequireUpload(r);
  if (!upload) co_return std::nullopt;
  co_return PartTarget{upload->upload_id, std::get<int>(number)};
}

Task<void> CreateMultipartUpload(S3Request& r) {
  if (auto error = s3::CheckObjectKey(r.target.key)) co_return co_await SendError(r, *error);
  auto bucket = co_await RequireBucketAccess(r, "s3:PutObject");
  if (!bucket) co_return;
  WriteRequest attributes;
  if (auto error = ParseObjectAttributes(r, &attributes)) co_return co_await SendError(r, *error);
  // Applied when the upload completes (the store keeps it with the upload).
  auto lock = RequestedLock(r, *bucket, /*has_body=*/false);
  if (auto* error = std::get_if<s3::S3Error>(&lock)) co_return co_await SendError(r, *error);
  meta::MultipartUpload upload;
  upload.upload_id = RandomHex(16);
  upload.bucket = r.target.bucket;
  upload.key = r.target.key;
  upload.content_type = attributes.content_type;
  upload.user_metadata = attributes.user_metadata;
  upload.headers = attributes.headers;
  upload.initiated_unix_ms = r.ctx.clock.NowUnixMs();
  upload.lock = std::get<meta::ObjectLock>(lock);
  Status created = co_await net::RunBlocking(r.ctx.blocking_pool,
                                             [&] { return r.ctx.store.CreateMultipartUpload(upload); });
  if (!created) {
    if (created.error().code == Errc::kNotFound) {
      co_return co_await SendError(r, s3::MakeS3Error("NoSuchBucket", "The specified bucket does not exist", r.resource()));
    }
    co_return co_await SendError(r, s3::FromError(created.error(), r.resource()));
  }
  co_await SendXml(r, 200, s3::RenderInitiateMultipartUpload(upload.bucket, upload.key, upload.upload_id));
}

Task<void> UploadPart(S3Request& r) {
  if (!co_await RequireBucketAccess(r, "s3:PutObject")) co_return;
  auto target = co_await RequirePartTarget(r);
  if (!target) co_return;
  if (!r.http.content_length) {
    co_return co_await SendError(r, s3::MakeS3Error("MissingContentLength", "You must provide the Content-Length HTTP header.", r.resource()));
  }
  WriteRequest request;
  request.bucket = r.target.bucket;
  request.key = r.target.key;
  request.part = *target;
  request.content_length = r.auth.chunked ? r.auth.chunked->decoded_length_bytes : *r.http.content_length;
  if (auto error = s3::CheckPartSize(request.content_length)) {
    s3::S3Error e = *error;
    e.resource = r.resource();
    co_return co_await SendError(r, e);
  }
  if (auto md5 = r.http.headers.Get("Content-MD5")) {
    std::string raw;
    if (!Base64Decode(*md5, &raw) || raw.size() != 16) {
      co_return co_await SendError(r, s3::MakeS3Error("InvalidDigest", "The Content-MD5 you specified was invalid.", r.resource()));
    }
    request.expected_md5 = raw;
  }
  if (r.auth.payload_hash.size() == 64) request.expected_sha256_hex = r.auth.payload_hash;
  auto body = S3BodyReader::Create(r.http, r.auth, r.body);
  if (auto* error = std::get_if<s3::S3Error>(&body)) co_return co_await SendError(r, *error);
  S3BodyReader& verified_body = *std::get<std::unique_ptr<S3BodyReader>>(body);

  auto outcome = co_await WriteObject(r.ctx, request, verified_body);
  if (auto* error = std::get_if<WriteError>(&outcome)) {
    HF_LOG_WARN("UploadPart {} #{} failed: {}", r.resource(), target->part_number, error->message);
    s3::S3Error reported = verified_body.failure() ? *verified_body.failure() : S3ErrorForWrite(*error, r.resource());
    if (reported.resource.empty()) reported.resource = r.resource();
    co_return co_await SendError(r, reported);
  }
  net::Headers headers = BaseHeaders(r);
  headers.Set("ETag", "\"" + std::get<WriteOutcome>(outcome).version.etag + "\"");
  co_await SendEmpty(r, 200, headers);
}

Task<void> CompleteMultipartUpload(S3Request& r) {
  if (!co_await RequireBucketAccess(r, "s3:PutObject")) co_return;
  auto upload = co_await RequireUpload(r);
  if (!upload) co_return;
  auto body = co_await ReadSmallBody(r, kMaxCompleteBodyBytes);
  if (auto* error = std::get_if<s3::S3Error>(&body)) co_return co_await SendError(r, *error);
  auto requested = s3::ParseCompleteMultipartUpload(std::get<std::string>(body));
  if (auto* error = std::get_if<s3::S3Error>(&requested)) {
    s3::S3Error e = *error;
    e.resource = r.resource();
    co_return co_await SendError(r, e);
  }
  const std::vector<s3::CompletedPart>& wanted = std::get<std::vector<s3::CompletedPart>>(requested);
  auto uploaded = co_await net::RunBlocking(
      r.ctx.blocking_pool, [&] { return r.ctx.store.ListParts(upload->upload_id, 0, s3::kMaxPartNumber); });
  if (!uploaded) {
    if (uploaded.error().code == Errc::kNotFound) co_return co_await SendError(r, NoSuchUpload(r.resource()));
    co_return co_await SendError(r, s3::FromError(uploaded.error(), r.resource()));
  }
  std::vector<s3::UploadedPart> have;
  for (const meta::UploadedPartRecord& part : *uploaded) {
    have.push_back(s3::UploadedPart{part.part_number, part.etag, part.size_bytes, part.modified_unix_ms});
  }
  if (auto error = s3::CheckCompleteParts(wanted, have)) {
    s3::S3Error e = *error;
    e.resource = r.resource();
    co_return co_await SendError(r, e);
  }
  auto condition = co_await WritePreconditions(r);
  if (auto* error = std::get_if<s3::S3Error>(&condition)) co_return co_await SendError(r, *error);

  // The parts as they are now (CheckCompleteParts matched every one).
  std::map<int, const meta::UploadedPartRecord*> by_number;
  for (const meta::UploadedPartRecord& part : *uploaded) by_number[part.part_number] = &part;
  std::vector<std::pair<int, std::string>> parts;
  std::vector<std::string> etags;
  uint64_t size = 0;
  for (const s3::CompletedPart& want : wanted) {
    const meta::UploadedPartRecord& part = *by_number.at(want.part_number);
    parts.emplace_back(part.part_number, part.part_version_id);
    etags.push_back(part.etag);
    size += part.size_bytes;
  }
  auto etag = s3::MultipartEtag(etags);
  if (!etag) co_return co_await SendError(r, s3::FromError(etag.error(), r.resource()));
  meta::ObjectVersion version;
  version.version_id = upload->upload_id;
  version.bucket = upload->bucket;
  version.key = upload->key;
  version.kind = meta::VersionKind::kMultipart;
  version.size_bytes = size;
  version.etag = *etag;
  version.content_type = upload->content_type;
  version.user_metadata = upload->user_metadata;
  version.headers = upload->headers;
  version.created_unix_ms = r.ctx.clock.NowUnixMs();
  auto completed = co_await net::RunBlocking(
      r.ctx.blocking_pool,
      [&] { return r.ctx.store.CompleteMultipartUpload(version, parts, std::get<meta::WriteCondition>(condition)); });
  if (!completed) {
    if (completed.error().code == Errc::kNotFound) co_return co_await SendError(r, NoSuchUpload(r.resource()));
    if (completed.error().code == Errc::kPreconditionFailed) {
      // Another writer got there first; the upload stays, as in S3.
      co_return co_await SendError(r, s3::FromError(completed.error(), r.resource()));
    }
    if (completed.error().code == Errc::kConflict) {
      // A part was re-uploaded between our check and the commit.
      co_return co_await SendError(r, s3::MakeS3Error("InvalidPart", "One or more of the specified parts could not be found or changed while the upload was being completed; list the parts and try again.", r.resource()));
    }
    co_return co_await SendError(r, s3::FromError(completed.error(), r.resource()));
  }
  std::string location = "http://" + std::string(r.http.headers.Get("Host").value_or("localhost")) + r.resource();
  version.null_version = completed->null_version;
  net::Headers headers = BaseHeaders(r);
  headers.Set("Content-Type", "application/xml");
  AddWrittenVersionHeader(completed->versioning, version, &headers);
  (void)co_await r.out.Send(200, headers,
                            s3::RenderCompleteMultipartUpload(location, upload->bucket, upload->key, *etag));
}

Task<void> AbortMultipartUpload(S3Request& r) {
  if (!co_await RequireBucketAccess(r, "s3:AbortMultipartUpload")) co_return;
  auto upload = co_await RequireUpload(r);
  if (!upload) co_return;
  Status aborted = co_await net::RunBlocking(
      r.ctx.blocking_pool, [&] { return r.ctx.store.AbortMultipartUpload(upload->upload_id); });
  if (!aborted) {
    if (aborted.error().code == Errc::kNotFound) co_return co_await SendError(r, NoSuchUpload(r.resource()));
    co_return co_await SendError(r, s3::FromError(aborted.error(), r.resource()));
  }
  co_await SendEmpty(r, 204, BaseHeaders(r));
}

Task<void> ListParts(S3Request& r) {
  auto bucket = co_await RequireBucketAccess(r, "s3:ListMultipartUploadParts");
  if (!bucket) co_return;
  auto upload = co_await RequireUpload(r);
  if (!upload) co_return;
  auto max_parts = ParseListLimit(r, "max-parts");
  if (auto* error = std::get_if<s3::S3Error>(&max_parts)) co_return co_await SendError(r, *error);
  s3::ListPartsParams params;
  params.bucket = upload->bucket;
  params.key = upload->key;
  params.upload_id = upload->upload_id;
  params.max_parts = std::get<int>(max_parts);
  if (r.HasQuery("part-number-marker")) {
    std::string text = r.QueryValue("part-number-marker");
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), params.part_number_marker);
    if (error != std::errc() || end != text.data() + text.size() || params.part_number_marker < 0) {
      co_return co_await SendError(r, s3::MakeS3Error("InvalidArgument", "Provided part-number-marker not an integer or within integer range", r.resource()));
    }
  }
  // One more than asked says whether the listing is truncated.
  auto listed = co_await net::RunBlocking(r.ctx.blocking_pool, [&] {
    return r.ctx.store.ListParts(upload->upload_id, params.part_number_marker, params.max_parts + 1);
  });
  if (!listed) {
    if (listed.error().code == Errc::kNotFound) co_return co_await SendError(r, NoSuchUpload(r.resource()));
    co_return co_await SendError(r, s3::FromError(listed.error(), r.resource()));
  }
  s3::ListPartsResult result;
  for (const meta::UploadedPartRecord& part : *listed) {
    if (static_cast<int>(result.parts.size()) == params.max_parts) {
      result.is_truncated = true;
      break;
    }
    result.parts.push_back(s3::UploadedPart{part.part_number, part.etag, part.size_bytes, part.modified_unix_ms});
    result.next_part_number_marker = part.part_number;
  }
  co_await SendXml(r, 200, s3::RenderListParts(params, result, bucket->owner_id));
}

Task<void> ListMultipartUploads(S3Request& r) {
  auto bucket = co_await RequireBucketAccess(r, "s3:ListBucketMultipartUploads");
  if (!bucket) co_return;
  auto max_uploads = ParseListLimit(r, "max-uploads");
  if (auto* error = std::get_if<s3::S3Error>(&max_uploads)) co_return co_await SendError(r, *error);
  s3::ListUploadsParams params;
  params.bucket = r.target.bucket;
  params.prefix = r.QueryValue("prefix");
  params.delimiter = r.QueryValue("delimiter");
  params.key_marker = r.QueryValue("key-marker");
  params.upload_id_marker = r.QueryValue("upload-id-marker");
  params.max_uploads = std::get<int>(max_uploads);
  if (auto error = CheckEncodingType(r)) co_return co_await SendError(r, *error);
  params.encoding_url = r.QueryValue("encoding-type") == "url";
  meta::UploadListQuery query;
  query.prefix = params.prefix;
  query.delimiter = params.delimiter;
  query.key_marker = params.key_marker;
  query.upload_id_marker = params.upload_id_marker;
  query.max_uploads = params.max_uploads;
  auto listed = co_await net::RunBlocking(
      r.ctx.blocking_pool, [&] { return r.ctx.store.ListMultipartUploads(r.target.bucket, query); });
  if (!listed) co_return co_await SendError(r, s3::FromError(listed.error(), r.resource()));
  s3::ListUploadsResult result;
  for (const meta::MultipartUpload& upload : listed->uploads) {
    result.uploads.push_back(s3::MultipartUploadInfo{upload.key, upload.upload_id, upload.initiated_unix_ms});
  }
  result.common_prefixes = listed->common_prefixes;
  result.is_truncated = listed->is_truncated;
  result.next_key_marker = listed->next_key_marker;
  result.next_upload_id_marker = listed->next_upload_id_marker;
  // Uploads, like objects, are shown as the bucket owner's.
  co_await SendXml(r, 200, s3::RenderListMultipartUploads(params, result, bucket->owner_id));
}

}  // namespace holdfast::gateway
