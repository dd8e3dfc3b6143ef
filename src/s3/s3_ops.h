// s3_ops: the socket-free pieces of individual S3 operations — aws-chunked
// request bodies, x-amz-checksum-* values, conditional requests, multipart
// upload rules, Object Lock headers, and the XML of listings, deletes,
// copies, multipart uploads, versioning and Object Lock. s3.h
// (authentication, errors, names, the first XML bodies) is the layer's
// front door; this is its second room.
//
// Everything here is pure. Free functions are thread-safe; the two stream
// classes (AwsChunkedDecoder, Checksum) are move-only, one per stream.
// XML renderers return whole documents (declaration included) in the S3
// namespace, with every piece of text escaped; parsers answer MalformedXML
// for anything that is not the document S3 expects.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "meta/meta_store.h"
#include "net/message.h"
#include "s3/s3.h"

namespace holdfast::s3 {

// ---- aws-chunked request bodies ----------------------------------------------
// A push decoder for "Content-Encoding: aws-chunked" bodies (S3 API Reference,
// "Transferring Payload in Multiple Chunks" and "Including Trailing
// Headers"):
//
//   10000;chunk-signature=<64 hex>\r\n  <65536 bytes>\r\n      (signed modes)
//   400\r\n  <1024 bytes>\r\n                                 (unsigned mode)
//   0;chunk-signature=<64 hex>\r\n                             the last chunk
//   x-amz-checksum-crc32c:sOO8/Q==\r\n                         trailers, if any
//   x-amz-trailer-signature:<64 hex>\r\n                       (signed trailers)
//   \r\n
//
// Each chunk signature signs "AWS4-HMAC-SHA256-PAYLOAD\n<date>\n<scope>\n
// <previous signature>\n<SHA-256 of "">\n<SHA-256 of the chunk data>", the
// first one chained to the seed (the request's own signature); the trailer
// signature signs "AWS4-HMAC-SHA256-TRAILER\n<date>\n<scope>\n<last chunk's
// signature>\n<SHA-256 of the trailer lines, each "name:value\n">".
//
// Usage: feed the raw body to Decode() as it arrives, with room for output;
// at the end of the raw body call Finish(). Payload bytes come out before
// the signature of their chunk has been checked (a chunk may be gigabytes),
// so a consumer must not commit what it wrote until Finish() succeeds; any
// error means the whole upload is refused. Errors are sticky.
//
// Errors: SignatureDoesNotMatch (a chunk or trailer signature),
// IncompleteBody (the body ends early, or the payload's length is not
// x-amz-decoded-content-length), InvalidArgument (malformed framing),
// MalformedTrailerError (malformed trailers, or not the ones x-amz-trailer
// declared). Leniencies, for clients seen in the wild: lines may end in a
// bare LF, a blank line may precede the trailers, and the final CRLF may be
// missing at the end of the body.
class AwsChunkedDecoder {
 public:
  explicit AwsChunkedDecoder(ChunkedUpload upload);
  ~AwsChunkedDecoder();
  AwsChunkedDecoder(AwsChunkedDecoder&&) noexcept;
  AwsChunkedDecoder& operator=(AwsChunkedDecoder&&) noexcept;

  struct Progress {
    size_t consumed_bytes = 0;  // of the input; the rest must be offered again
    size_t produced_bytes = 0;  // payload bytes written to the front of the output
  };
  // Consumes input until it is used up or the output is full. Never fails
  // for want of input: a partial line is kept until the rest arrives.
  std::variant<Progress, S3Error> Decode(std::span<const uint8_t> input, std::span<uint8_t> output);
  // The raw body has ended: checks that the body was complete.
  std::optional<S3Error> Finish();

  bool done() const;               // the last chunk and any trailers are in
  uint64_t decoded_bytes() const;  // payload bytes produced so far
  // Trailing headers received (names lower-cased, values trimmed), in order;
  // x-amz-trailer-signature is checked and left out. Complete once done().
  const std::vector<std::pair<std::string, std::string>>& trailers() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// ---- Checksums (x-amz-checksum-*) --------------------------------------------
// Values travel base64-encoded, of the big-endian CRC or the digest.
enum class ChecksumAlgorithm { kCrc32, kCrc32c, kCrc64Nvme, kSha1, kSha256 };

// "x-amz-checksum-crc32" -> kCrc32 (any case); nullopt for other names.
std::optional<ChecksumAlgorithm> ChecksumFromHeaderName(std::string_view header_name);
// "x-amz-checksum-crc32", ...
std::string_view ChecksumHeaderName(ChecksumAlgorithm algorithm);
// The value of x-amz-checksum-algorithm / x-amz-sdk-checksum-algorithm
// ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"; any case).
std::optional<ChecksumAlgorithm> ChecksumFromAlgorithmName(std::string_view name);

class Checksum {
 public:
  explicit Checksum(ChecksumAlgorithm algorithm);
  ~Checksum();
  Checksum(Checksum&&) noexcept;
  Checksum& operator=(Checksum&&) noexcept;
  void Update(std::span<const uint8_t> bytes);
  std::string FinishBase64();  // the checksum must not be updated afterwards
  ChecksumAlgorithm algorithm() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Compares what the client sent with what was computed: InvalidRequest if
// `sent_base64` is not a valid value for the algorithm, BadDigest if it
// differs, as S3 answers.
std::optional<S3Error> CheckChecksum(ChecksumAlgorithm algorithm, std::string_view sent_base64,
                                     std::string_view computed_base64);

// ---- Conditional requests -----------------------------------------------------
// RFC 7232 with S3's reading of it. ETags compare with or without quotes;
// lists ("a", "b") and "*" are understood; W/ tags never match If-Match.
struct Preconditions {
  std::optional<std::string> if_match;  // the header's raw value
  std::optional<std::string> if_none_match;
  std::optional<int64_t> if_modified_since_ms;  // invalid dates are ignored, as RFC 7232 says
  std::optional<int64_t> if_unmodified_since_ms;
};
// If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since.
Preconditions GetPreconditions(const net::Headers& headers);
// x-amz-copy-source-if-match, -if-none-match, -if-modified-since,
// -if-unmodified-since (CopyObject, UploadPartCopy).
Preconditions GetCopySourcePreconditions(const net::Headers& headers);

enum class PreconditionOutcome {
  kProceed,
  kNotModified,  // GET/HEAD: 304 with no body; a copy source: 412 instead
  kFailed        // 412 PreconditionFailed (kPreconditionFailedMessage)
};
inline constexpr std::string_view kPreconditionFailedMessage =
    "At least one of the pre-conditions you specified did not hold";
// For reading an existing object. If-Match, when present, decides alone over
// If-Unmodified-Since, and If-None-Match over If-Modified-Since; dates
// compare at whole seconds, as Last-Modified is sent.
PreconditionOutcome EvaluatePreconditions(const Preconditions& preconditions, std::string_view etag,
                                          int64_t modified_unix_ms);

// For writing (PutObject, CompleteMultipartUpload, CopyObject's
// destination), given the current object's ETag, or nullopt if there is
// none: "If-None-Match: *" fails with PreconditionFailed if the object
// exists (other If-None-Match values are NotImplemented); If-Match fails
// with PreconditionFailed if the ETag differs, and with NoSuchKey if there
// is no object, as S3 does. The date headers are ignored, as S3 does.
std::optional<S3Error> CheckWritePreconditions(const net::Headers& headers,
                                               const std::optional<std::string>& current_etag);

// ---- Multipart uploads --------------------------------------------------------
inline constexpr int kMaxPartNumber = 10000;
inline constexpr uint64_t kMinPartSizeBytes = uint64_t{5} << 20;  // all parts but the last
inline constexpr uint64_t kMaxPartSizeBytes = uint64_t{5} << 30;

// The partNumber query parameter: InvalidArgument unless an integer in
// 1..10000.
std::variant<int, S3Error> ParsePartNumber(std::string_view text);
// UploadPart's size: EntityTooLarge above 5 GiB.
std::optional<S3Error> CheckPartSize(uint64_t size_bytes);
// Holdfast upload ids are 32 lower-case hex digits (128 random bits, e.g.
// RandomHex(16)). Anything else cannot name an upload: NoSuchUpload.
std::optional<S3Error> CheckUploadId(std::string_view upload_id);

struct UploadedPart {  // what the store holds for one part
  int part_number = 0;
  std::string etag;  // hex MD5, without quotes
  uint64_t size_bytes = 0;
  int64_t modified_unix_ms = 0;
};
struct CompletedPart {  // one <Part> of a CompleteMultipartUpload request
  int part_number = 0;
  std::string etag;  // quotes removed
};
// A CompleteMultipartUpload request against the parts uploaded (any order):
// every listed part must exist with that ETag (InvalidPart), and every part
// but the last must be at least 5 MiB (EntityTooSmall).
std::optional<S3Error> CheckCompleteParts(const std::vector<CompletedPart>& requested,
                                          const std::vector<UploadedPart>& uploaded);
// The object's ETag, as S3 makes it: MD5 of the concatenated binary MD5s of
// the parts, in hex, then "-" and the part count. kInvalidArgument if an ETag
// is not 32 hex digits (quotes are allowed).
Result<std::string> MultipartEtag(const std::vector<std::string>& part_etags);

// ---- XML: listings ------------------------------------------------------------
struct ListV1Params {
  std::string bucket;
  std::string prefix;
  std::string delimiter;
  std::string marker;
  int max_keys = 1000;
  bool encoding_url = false;  // encoding-type=url
};
// ListObjects (v1): ListBucketResult with Marker, NextMarker (only with a
// delimiter and when truncated, as S3: without one the client resumes from
// the last key), IsTruncated, Contents (with Owner, as v1 always has it),
// CommonPrefixes, EncodingType.
std::string RenderListObjectsV1(const ListV1Params& params, const meta::ListResult& result,
                                std::string_view owner_id);

struct ListVersionsParams {
  std::string bucket;
  std::string prefix;
  std::string delimiter;
  std::string key_marker;
  std::string version_id_marker;
  int max_keys = 1000;
  bool encoding_url = false;
};
struct ListedVersion {
  std::string key;
  std::string version_id;  // "null" for the null version
  bool is_latest = false;
  bool is_delete_marker = false;  // a DeleteMarker has no ETag and no Size
  int64_t modified_unix_ms = 0;
  std::string etag;  // without quotes
  uint64_t size_bytes = 0;
};
struct ListVersionsResult {
  std::vector<ListedVersion> versions;  // by key, newest first within a key
  std::vector<std::string> common_prefixes;
  bool is_truncated = false;
  std::string next_key_marker;  // when truncated
  std::string next_version_id_marker;
};
// ListObjectVersions: ListVersionsResult with Version and DeleteMarker
// entries interleaved in the order given.
std::string RenderListObjectVersions(const ListVersionsParams& params,
                                     const ListVersionsResult& result, std::string_view owner_id);

// ---- XML: objects -------------------------------------------------------------
inline constexpr size_t kMaxDeleteObjects = 1000;

struct ObjectToDelete {
  std::string key;
  std::string version_id;  // empty: the current version
};
struct DeleteObjectsRequest {
  bool quiet = false;
  std::vector<ObjectToDelete> objects;  // 1..1000, in request order
};
// A DeleteObjects body: <Delete><Quiet/>?<Object><Key/><VersionId/>?</Object>+.
// More than 1000 objects, or none, is MalformedXML, as S3 answers.
std::variant<DeleteObjectsRequest, S3Error> ParseDeleteObjects(std::string_view body);

struct DeleteOutcome {
  std::string key;
  std::string version_id;        // as requested
  std::optional<S3Error> error;  // set: an <Error> entry
  bool delete_marker = false;    // the delete made or removed a delete marker
  std::string delete_marker_version_id;
};
// DeleteResult: a <Deleted> or <Error> entry per outcome, in order; quiet
// mode leaves out the <Deleted> ones.
std::string RenderDeleteResult(const std::vector<DeleteOutcome>& outcomes, bool quiet);

// CopyObjectResult / CopyPartResult: ETag (quoted here) and LastModified.
std::string RenderCopyObjectResult(std::string_view etag, int64_t modified_unix_ms);
std::string RenderCopyPartResult(std::string_view etag, int64_t modified_unix_ms);

enum class VersioningStatus { kNeverEnabled, kEnabled, kSuspended };
// A PutBucketVersioning body: Status must be Enabled or Suspended
// (MalformedXML otherwise); MfaDelete is accepted and ignored.
std::variant<VersioningStatus, S3Error> ParseVersioningConfiguration(std::string_view body);
// GetBucketVersioning: an empty VersioningConfiguration if never enabled.
std::string RenderVersioningConfiguration(VersioningStatus status);

// ---- XML: multipart uploads ---------------------------------------------------
std::string RenderInitiateMultipartUpload(std::string_view bucket, std::string_view key,
                                          std::string_view upload_id);
// A CompleteMultipartUpload body: its parts, quotes taken off the ETags.
// MalformedXML if there are none or a PartNumber is not an integer;
// InvalidArgument outside 1..10000; InvalidPartOrder unless strictly
// ascending.
std::variant<std::vector<CompletedPart>, S3Error> ParseCompleteMultipartUpload(
    std::string_view body);
// `location` is the object's URL; `etag` is quoted here.
std::string RenderCompleteMultipartUpload(std::string_view location, std::string_view bucket,
                                          std::string_view key, std::string_view etag);

struct ListPartsParams {
  std::string bucket;
  std::string key;
  std::string upload_id;
  int part_number_marker = 0;
  int max_parts = 1000;
};
struct ListPartsResult {
  std::vector<UploadedPart> parts;  // ascending
  bool is_truncated = false;
  int next_part_number_marker = 0;  // the last part listed
};
std::string RenderListParts(const ListPartsParams& params, const ListPartsResult& result,
                            std::string_view owner_id);

struct ListUploadsParams {
  std::string bucket;
  std::string prefix;
  std::string delimiter;
  std::string key_marker;
  std::string upload_id_marker;
  int max_uploads = 1000;
  bool encoding_url = false;
};
struct MultipartUploadInfo {
  std::string key;
  std::string upload_id;
  int64_t initiated_unix_ms = 0;
};
struct ListUploadsResult {
  std::vector<MultipartUploadInfo> uploads;  // by key, then initiation
  std::vector<std::string> common_prefixes;
  bool is_truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};
std::string RenderListMultipartUploads(const ListUploadsParams& params,
                                       const ListUploadsResult& result, std::string_view owner_id);

// ---- Object Lock (docs/object-lock.md) ------------------------------------------
// An ISO 8601 timestamp as SDKs send Object Lock dates:
// "2027-01-01T00:00:00Z", optionally with a fraction of a second (kept to
// the millisecond) and "+hh:mm" / "-hh:mm" instead of "Z".
std::optional<int64_t> ParseIsoDate(std::string_view text);

// The lock a write asks for (PutObject, CopyObject's destination,
// CreateMultipartUpload): x-amz-object-lock-mode with
// x-amz-object-lock-retain-until-date, and x-amz-object-lock-legal-hold.
// InvalidArgument for only one of mode and date, an unknown mode, a date
// that is malformed or not after `now_unix_ms`, or a legal hold other than
// ON/OFF. No headers: an empty lock.
std::variant<meta::ObjectLock, S3Error> ParseObjectLockHeaders(const net::Headers& headers,
                                                               int64_t now_unix_ms);
// x-amz-object-lock-mode, -retain-until-date and -legal-hold for GET/HEAD,
// for what is set.
void AddObjectLockHeaders(const meta::ObjectLock& lock, net::Headers* headers);

// PutObjectLockConfiguration: ObjectLockEnabled must be "Enabled"; an
// optional Rule holds a DefaultRetention with a Mode and exactly one of Days
// and Years. MalformedXML otherwise, InvalidArgument for a period that is
// not a positive integer (or over 100 years).
std::variant<meta::DefaultRetention, S3Error> ParseObjectLockConfiguration(std::string_view body);
std::string RenderObjectLockConfiguration(const meta::DefaultRetention& default_retention);

// PutObjectRetention: Mode and RetainUntilDate together, or neither (to
// remove retention); MalformedXML otherwise. The result's legal hold is
// unset.
std::variant<meta::ObjectLock, S3Error> ParseRetention(std::string_view body);
std::string RenderRetention(const meta::ObjectLock& lock);  // mode and retain-until
// PutObjectLegalHold: Status ON or OFF (true = ON); MalformedXML otherwise.
std::variant<bool, S3Error> ParseLegalHold(std::string_view body);
std::string RenderLegalHold(bool on);

}  // namespace holdfast::s3
