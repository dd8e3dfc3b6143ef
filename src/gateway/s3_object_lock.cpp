// S3 Object Lock: Get/PutObjectLockConfiguration (bucket ?object-lock),
// Get/PutObjectRetention (?retention), Get/PutObjectLegalHold
// (?legal-hold), the lock a write asks for in its headers, and who may
// bypass GOVERNANCE retention.
//
// Enforcement is not here: the metadata store refuses, inside the
// transaction that would remove a version, whatever a hold or retention
// protects (MetaStore, "Object Lock"); this file only turns S3 requests into
// store calls and store errors into S3 ones. What is enforced where, and the
// bypass decision: docs/object-lock.md.
//
// Ledger: retention set through PutObjectRetention and legal holds placed or
// released are recorded in the notice ledger (ledger/ledger.h) once the store
// has accepted them, so that a refused change is never recorded as made.
// Locks given with a PUT or by a bucket's default are part of the object's
// creation and are not recorded one by one.
//
// Bypass: AWS grants s3:BypassGovernanceRetention by IAM policy; Holdfast
// has no policies, so the operator marks users allowed to bypass
// (`holdfast user set NAME --allow-bypass-governance`, stored in the
// metadata store). A request bypasses only if its user is allowed AND it
// carries x-amz-bypass-governance-retention: true, as in S3.
#include <algorithm>
#include <cctype>

#include "common/digest.h"
#include "common/log.h"
#include "gateway/s3_request.h"
#include "ledger/ledger.h"
#include "s3/s3_ops.h"

namespace holdfast::gateway {

using net::Task;

namespace {

constexpr size_t kMaxLockBodyBytes = 64 * 1024;

bool IsTrue(std::optional<std::string_view> value) {
  if (!value) return false;
  std::string lower(*value);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower == "true";
}

s3::S3Error MissingLockConfiguration(const std::string& resource) {
  return s3::MakeS3Error("InvalidRequest", "Bucket is missing Object Lock Configuration", resource);
}

s3::S3Error NoLockOnObject(const std::string& resource) {
  return s3::MakeS3Error("NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock configuration",
                         resource);
}

// S3 requires Content-MD5 (or an x-amz-checksum-*) on the Object Lock
// configuration PUTs; whichever is sent must match the body.
std::optional<s3::S3Error> CheckRequiredBodyDigest(const S3Request& r, std::string_view body) {
  bool covered = false;
  if (auto md5 = r.http.headers.Get("Content-MD5")) {
    std::string expected;
    Md5Digest actual = Md5(AsBytes(body));
    if (!Base64Decode(*md5, &expected) || expected.size() != actual.size()) {
      return s3::MakeS3Error("InvalidDigest", "The Content-MD5 you specified was invalid.", r.resource());
    }
    if (expected != std::string_view(reinterpret_cast<const char*>(actual.data()), actual.size())) {
      return s3::MakeS3Error("BadDigest", "The Content-MD5 you specified did not match what we received.",
                             r.resource());
    }
    covered = true;
  }
  for (const auto& [name, value] : r.http.headers.all()) {
    auto algorithm = s3::ChecksumFromHeaderName(name);
    if (!algorithm) continue;
    s3::Checksum checksum(*algorithm);
    checksum.Update(AsBytes(body));
    if (auto error = s3::CheckChecksum(*algorithm, value, checksum.FinishBase64())) {
      s3::S3Error e = *error;
      e.resource = r.resource();
      return e;
    }
    covered = true;
  }
  if (covered) return std::nullopt;
  return s3::MakeS3Error("InvalidRequest", "Missing required header for this request: Content-MD5", r.resource());
}

// Whether the request's body is protected by a digest the write path checks
// (Content-MD5, an x-amz-checksum-* header, or one announced as a trailer).
bool HasBodyDigest(const S3Request& r) {
  for (const auto& [name, value] : r.http.headers.all()) {
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower == "content-md5" || lower.starts_with("x-amz-checksum-") || lower == "x-amz-sdk-checksum-algorithm") {
      return true;
    }
    if (lower == "x-amz-trailer" && value.find("x-amz-checksum-") != std::string::npos) return true;
  }
  return false;
}

// The version ?retention / ?legal-hold is about (?versionId, or the current
// one) in a bucket with Object Lock; sends the error and returns nullopt
// otherwise.
Task<std::optional<meta::ObjectVersion>> RequireLockableVersion(S3Request& r) {
  auto bucket = co_await RequireOwnedBucket(r);
  if (!bucket) co_return std::nullopt;
  if (!bucket->object_lock_enabled) {
    co_await SendError(r, MissingLockConfiguration(r.resource()));
    co_return std::nullopt;
  }
  const bool by_version = r.HasQuery("versionId");
  const std::string wanted = r.QueryValue("versionId");
  if (by_version) {
    if (auto error = CheckVersionId(wanted, r.resource())) {
      co_await SendError(r, *error);
      co_return std::nullopt;
    }
  }
  auto version = co_await net::RunBlocking(r.ctx.blocking_pool, [&] {
    return by_version ? r.ctx.store.GetObjectVersion(r.target.bucket, r.target.key, wanted)
                      : r.ctx.store.GetObject(r.target.bucket, r.target.key);
  });
  if (!version || (version->kind == meta::VersionKind::kDeleteMarker && !by_version)) {
    s3::S3Error error =
        by_version ? s3::MakeS3Error("NoSuchVersion", "The specified version does not exist.", r.resource())
                   : s3::MakeS3Error("NoSuchKey", "The specified key does not exist.", r.resource());
    if (!version && version.error().code != Errc::kNotFound) error = s3::FromError(version.error(), r.resource());
    co_await SendError(r, error);
    co_return std::nullopt;
  }
  if (version->kind == meta::VersionKind::kDeleteMarker) {
    // A delete marker holds no data to protect (S3 answers the same).
    co_await SendError(r, s3::MakeS3Error("MethodNotAllowed", "The specified method is not allowed against this resource.",
                                          r.resource()));
    co_return std::nullopt;
  }
  co_return *version;
}

// The lock request's body, read and checked against its required digest.
Task<std::variant<std::string, s3::S3Error>> ReadLockBody(S3Request& r) {
  auto body = co_await ReadSmallBody(r, kMaxLockBodyBytes);
  if (auto* error = std::get_if<s3::S3Error>(&body)) co_return *error;
  if (auto error = CheckRequiredBodyDigest(r, std::get<std::string>(body))) co_return *error;
  co_return body;
}

// Ledger fields, built outside coroutines (GCC 12 and brace-initialised
// JSON temporaries).
nlohmann::json RetentionFields(const S3Request& r, const std::string& s3_version_id, const meta::ObjectLock& lock,
                               meta::LockBypass bypass) {
  // "NONE": retention removed (the ledger wants a non-empty mode).
  const char* mode = lock.mode == meta::RetentionMode::kNone         ? "NONE"
                     : lock.mode == meta::RetentionMode::kCompliance ? "COMPLIANCE"
                                                                     : "GOVERNANCE";
  return nlohmann::json{{"bucket", r.target.bucket},
                        {"key", r.target.key},
                        {"version_id", s3_version_id},
                        {"mode", mode},
                        {"retain_until_ms", lock.mode == meta::RetentionMode::kNone ? 0 : lock.retain_until_unix_ms},
                        {"user", r.auth.user_id},
                        {"bypass_governance", bypass == meta::LockBypass::kGovernance}};
}

nlohmann::json LegalHoldFields(const S3Request& r, const std::string& s3_version_id) {
  const std::string version = r.target.bucket + "/" + r.target.key + "?versionId=" + s3_version_id;
  return nlohmann::json{{"hold_id", "s3-legal-hold:" + version}, {"scope", "version:" + version}, {"user", r.auth.user_id}};
}

// Appends after the store accepted the change. A failure is logged, not
// returned: the change is in force and the client must hear so.
Task<void> RecordInLedger(S3Request& r, ledger::EntryKind kind, nlohmann::json fields) {
  if (r.ctx.ledger == nullptr) co_return;
  auto appended = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.ledger->Append(kind, fields); });
  if (!appended) {
    HF_LOG_ERROR("ledger: could not record {} of {}: {}", ledger::KindName(kind), r.resource(),
                 appended.error().message);
  }
}

s3::S3Error WithResource(s3::S3Error error, const std::string& resource) {
  if (error.resource.empty()) error.resource = resource;
  return error;
}

}  // namespace

Task<meta::LockBypass> GovernanceBypass(S3Request& r) {
  if (!IsTrue(r.http.headers.Get("x-amz-bypass-governance-retention"))) co_return meta::LockBypass::kNone;
  auto allowed = co_await net::RunBlocking(
      r.ctx.blocking_pool, [&] { return r.ctx.store.UserMayBypassGovernance(r.auth.user_id); });
  // Not allowed (or unknown): the store's refusal names the retention.
  co_return allowed.ok() && *allowed ? meta::LockBypass::kGovernance : meta::LockBypass::kNone;
}

std::variant<meta::ObjectLock, s3::S3Error> RequestedLock(const S3Request& r, const meta::Bucket& bucket,
                                                          bool has_body) {
  auto parsed = s3::ParseObjectLockHeaders(r.http.headers, r.ctx.clock.NowUnixMs());
  if (auto* error = std::get_if<s3::S3Error>(&parsed)) return WithResource(*error, r.resource());
  const meta::ObjectLock& lock = std::get<meta::ObjectLock>(parsed);
  if (lock.empty()) return lock;
  // s3:PutObjectRetention and s3:PutObjectLegalHold stay the owner's: a
  // bucket policy that lets others write does not let them lock.
  if (r.anonymous() || bucket.owner_id != r.auth.user_id) {
    return s3::MakeS3Error("AccessDenied", "Only the bucket owner may set Object Lock retention or legal holds",
                           r.resource());
  }
  if (!bucket.object_lock_enabled) {
    return s3::MakeS3Error("InvalidRequest", "Bucket is missing ObjectLockConfiguration", r.resource());
  }
  if (has_body && !HasBodyDigest(r)) {
    return s3::MakeS3Error("InvalidRequest",
                           "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with "
                           "Object Lock parameters",
                           r.resource());
  }
  return lock;
}

bool WantsObjectLock(const S3Request& r) { return IsTrue(r.http.headers.Get("x-amz-bucket-object-lock-enabled")); }

Task<void> GetObjectLockConfiguration(S3Request& r) {
  if (!co_await RequireOwnedBucket(r)) co_return;
  auto config = co_await net::RunBlocking(r.ctx.blocking_pool,
                                          [&] { return r.ctx.store.GetBucketObjectLock(r.target.bucket); });
  if (!config) co_return co_await SendError(r, s3::FromError(config.error(), r.resource()));
  if (!config->enabled) {
    co_return co_await SendError(r, s3::MakeS3Error("ObjectLockConfigurationNotFoundError",
                                                    "Object Lock configuration does not exist for this bucket",
                                                    r.resource()));
  }
  co_await SendXml(r, 200, s3::RenderObjectLockConfiguration(config->default_retention));
}

Task<void> PutObjectLockConfiguration(S3Request& r) {
  if (!co_await RequireOwnedBucket(r)) co_return;
  auto body = co_await ReadLockBody(r);
  if (auto* error = std::get_if<s3::S3Error>(&body)) co_return co_await SendError(r, *error);
  auto parsed = s3::ParseObjectLockConfiguration(std::get<std::string>(body));
  if (auto* error = std::get_if<s3::S3Error>(&parsed)) {
    co_return co_await SendError(r, WithResource(*error, r.resource()));
  }
  const meta::DefaultRetention retention = std::get<meta::DefaultRetention>(parsed);
  Status set = co_await net::RunBlocking(
      r.ctx.blocking_pool, [&] { return r.ctx.store.PutBucketObjectLock(r.target.bucket, retention); });
  if (!set && set.error().code == Errc::kConflict) {
    co_return co_await SendError(r, s3::MakeS3Error("InvalidBucketState",
                                                    "Versioning must be 'Enabled' on the bucket to apply a Object "
                                                    "Lock configuration",
                                                    r.resource()));
  }
  if (!set) co_return co_await SendError(r, s3::FromError(set.error(), r.resource()));
  co_await SendEmpty(r, 200, BaseHeaders(r));
}

Task<void> GetObjectRetention(S3Request& r) {
  auto version = co_await RequireLockableVersion(r);
  if (!version) co_return;
  if (version->lock.mode == meta::RetentionMode::kNone) co_return co_await SendError(r, NoLockOnObject(r.resource()));
  co_await SendXml(r, 200, s3::RenderRetention(version->lock));
}

Task<void> PutObjectRetention(S3Request& r) {
  auto version = co_await RequireLockableVersion(r);
  if (!version) co_return;
  auto body = co_await ReadLockBody(r);
  if (auto* error = std::get_if<s3::S3Error>(&body)) co_return co_await SendError(r, *error);
  auto parsed = s3::ParseRetention(std::get<std::string>(body));
  if (auto* error = std::get_if<s3::S3Error>(&parsed)) {
    co_return co_await SendError(r, WithResource(*error, r.resource()));
  }
  const meta::ObjectLock wanted = std::get<meta::ObjectLock>(parsed);
  if (wanted.mode != meta::RetentionMode::kNone && wanted.retain_until_unix_ms <= r.ctx.clock.NowUnixMs()) {
    co_return co_await SendError(r, s3::MakeS3Error("InvalidArgument", "The retain until date must be in the future!",
                                                    r.resource()));
  }
  const meta::LockBypass bypass = co_await GovernanceBypass(r);
  const std::string s3_version_id = meta::S3VersionId(*version);
  Status set = co_await net::RunBlocking(r.ctx.blocking_pool, [&] {
    return r.ctx.store.SetObjectRetention(r.target.bucket, r.target.key, s3_version_id, wanted.mode,
                                          wanted.retain_until_unix_ms, bypass);
  });
  if (!set) co_return co_await SendError(r, s3::FromError(set.error(), r.resource()));
  nlohmann::json fields = RetentionFields(r, s3_version_id, wanted, bypass);
  co_await RecordInLedger(r, ledger::EntryKind::kRetentionSet, std::move(fields));
  co_await SendEmpty(r, 200, BaseHeaders(r));
}

Task<void> GetObjectLegalHold(S3Request& r) {
  auto version = co_await RequireLockableVersion(r);
  if (!version) co_return;
  if (version->lock.legal_hold == meta::LegalHold::kNone) {
    co_return co_await SendError(r, NoLockOnObject(r.resource()));
  }
  co_await SendXml(r, 200, s3::RenderLegalHold(version->lock.legal_hold == meta::LegalHold::kOn));
}

Task<void> PutObjectLegalHold(S3Request& r) {
  auto version = co_await RequireLockableVersion(r);
  if (!version) co_return;
  auto body = co_await ReadLockBody(r);
  if (auto* error = std::get_if<s3::S3Error>(&body)) co_return co_await SendError(r, *error);
  auto parsed = s3::ParseLegalHold(std::get<std::string>(body));
  if (auto* error = std::get_if<s3::S3Error>(&parsed)) {
    co_return co_await SendError(r, WithResource(*error, r.resource()));
  }
  const bool on = std::get<bool>(parsed);
  const std::string s3_version_id = meta::S3VersionId(*version);
  Status set = co_await net::RunBlocking(r.ctx.blocking_pool, [&] {
    return r.ctx.store.SetObjectLegalHold(r.target.bucket, r.target.key, s3_version_id, on);
  });
  if (!set) co_return co_await SendError(r, s3::FromError(set.error(), r.resource()));
  nlohmann::json fields = LegalHoldFields(r, s3_version_id);
  const ledger::EntryKind kind = on ? ledger::EntryKind::kHoldPlaced : ledger::EntryKind::kHoldReleased;
  co_await RecordInLedger(r, kind, std::move(fields));
  co_await SendEmpty(r, 200, BaseHeaders(r));
}

}  // namespace holdfast::gateway
