// Multipart upload rules: part numbers, part sizes, upload ids, the parts of
// CompleteMultipartUpload, and the multipart ETag. The limits and messages
// are S3's ("Amazon S3 multipart upload limits").
#include <algorithm>
#include <charconv>
#include <map>

#include "common/digest.h"
#include "s3/internal.h"
#include "s3/s3_ops.h"

namespace holdfast::s3 {
namespace {

S3Error InvalidPart() {
  return MakeS3Error("InvalidPart",
                     "One or more of the specified parts could not be found.  The part may not "
                     "have been uploaded, or the specified entity tag may not match the part's "
                     "entity tag.");
}

}  // namespace

std::variant<int, S3Error> ParsePartNumber(std::string_view text) {
  int number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || number < 1 ||
      number > kMaxPartNumber) {
    return MakeS3Error("InvalidArgument",
                       "Part number must be an integer between 1 and 10000, inclusive");
  }
  return number;
}

std::optional<S3Error> CheckPartSize(uint64_t size_bytes) {
  if (size_bytes <= kMaxPartSizeBytes) return std::nullopt;
  return MakeS3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size");
}

std::optional<S3Error> CheckUploadId(std::string_view upload_id) {
  bool ok = upload_id.size() == 32 && std::all_of(upload_id.begin(), upload_id.end(), [](char c) {
              return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
            });
  if (ok) return std::nullopt;
  return MakeS3Error("NoSuchUpload",
                     "The specified upload does not exist. The upload ID may be invalid, or the "
                     "upload may have been aborted or completed.");
}

std::optional<S3Error> CheckCompleteParts(const std::vector<CompletedPart>& requested,
                                          const std::vector<UploadedPart>& uploaded) {
  std::map<int, const UploadedPart*> by_number;
  for (const UploadedPart& part : uploaded) by_number[part.part_number] = &part;
  for (size_t i = 0; i < requested.size(); ++i) {
    auto it = by_number.find(requested[i].part_number);
    // ETags are hex: compare without regard to case or quotes.
    if (it == by_number.end() ||
        AsciiLower(StripQuotes(requested[i].etag)) != AsciiLower(it->second->etag)) {
      return InvalidPart();
    }
    if (i + 1 < requested.size() && it->second->size_bytes < kMinPartSizeBytes) {
      return MakeS3Error("EntityTooSmall",
                         "Your proposed upload is smaller than the minimum allowed object size.");
    }
  }
  return std::nullopt;
}

Result<std::string> MultipartEtag(const std::vector<std::string>& part_etags) {
  if (part_etags.empty()) return MakeError(Errc::kInvalidArgument, "a multipart ETag needs parts");
  std::string digests;
  for (const std::string& etag : part_etags) {
    std::string digest;
    if (!ParseHex(StripQuotes(etag), &digest) || digest.size() != 16) {
      return MakeError(Errc::kInvalidArgument, "not an MD5 ETag: " + etag);
    }
    digests += digest;
  }
  return HexLower(Md5(AsBytes(digests))) + "-" + std::to_string(part_etags.size());
}

}  // namespace holdfast::s3
