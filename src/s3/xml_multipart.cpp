// The XML of multipart uploads: CreateMultipartUpload's result,
// CompleteMultipartUpload's request and result, ListParts and
// ListMultipartUploads.
#include <charconv>

#include "s3/internal.h"
#include "s3/s3_ops.h"
#include "s3/xml_internal.h"

namespace holdfast::s3 {
namespace {

const char* Bool(bool value) { return value ? "true" : "false"; }

// The initiator is the owner: Holdfast has no IAM users apart from owners.
void AppendInitiatorAndOwner(std::string* out, std::string_view owner_id) {
  *out += "<Initiator>";
  AppendElement(out, "ID", owner_id);
  AppendElement(out, "DisplayName", owner_id);
  *out += "</Initiator>";
  AppendOwner(out, owner_id);
}

// <Part><PartNumber/><ETag/></Part>, checksums allowed and ignored. An error
// here is MalformedXML, or InvalidArgument for a number out of range.
std::variant<CompletedPart, S3Error> ParsePart(pugi::xml_node part) {
  CompletedPart out;
  int numbers = 0, etags = 0;
  for (pugi::xml_node child : part.children()) {
    if (child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata)
      return MalformedXml();
    if (child.type() != pugi::node_element) continue;
    std::string_view name = LocalName(child.name());
    std::string_view text = child.text().as_string();
    if (name == "PartNumber") {
      auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out.part_number);
      if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
        return MalformedXml();
      }
      ++numbers;
    } else if (name == "ETag") {
      out.etag = std::string(StripQuotes(TrimBlanks(text)));
      ++etags;
    }
  }
  if (numbers != 1 || etags != 1) return MalformedXml();
  if (out.part_number < 1 || out.part_number > kMaxPartNumber) {
    return MakeS3Error("InvalidArgument",
                       "Part number must be an integer between 1 and 10000, inclusive");
  }
  return out;
}

void AppendUpload(std::string* out, bool encoding_url, const MultipartUploadInfo& upload,
                  std::string_view owner_id) {
  *out += "<Upload>";
  AppendElement(out, "Key", ListText(encoding_url, upload.key));
  AppendElement(out, "UploadId", upload.upload_id);
  AppendInitiatorAndOwner(out, owner_id);
  AppendElement(out, "StorageClass", "STANDARD");
  AppendElement(out, "Initiated", IsoDate(upload.initiated_unix_ms));
  *out += "</Upload>";
}

}  // namespace

std::string RenderInitiateMultipartUpload(std::string_view bucket, std::string_view key,
                                          std::string_view upload_id) {
  std::string out = OpenDocument("InitiateMultipartUploadResult");
  AppendElement(&out, "Bucket", bucket);
  AppendElement(&out, "Key", key);
  AppendElement(&out, "UploadId", upload_id);
  return out + "</InitiateMultipartUploadResult>";
}

std::variant<std::vector<CompletedPart>, S3Error> ParseCompleteMultipartUpload(
    std::string_view body) {
  pugi::xml_document document;
  pugi::xml_node root = ParseRoot(body, "CompleteMultipartUpload", &document);
  if (!root) return MalformedXml();
  std::vector<CompletedPart> parts;
  for (pugi::xml_node child : root.children()) {
    if (child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata)
      return MalformedXml();
    if (child.type() != pugi::node_element) continue;
    if (LocalName(child.name()) != "Part") return MalformedXml();
    std::variant<CompletedPart, S3Error> part = ParsePart(child);
    if (auto* error = std::get_if<S3Error>(&part)) return std::move(*error);
    parts.push_back(std::move(std::get<CompletedPart>(part)));
  }
  if (parts.empty()) return MalformedXml();
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].part_number <= parts[i - 1].part_number) {
      return MakeS3Error("InvalidPartOrder",
                         "The list of parts was not in ascending order. Parts must be ordered by "
                         "part number.");
    }
  }
  return parts;
}

std::string RenderCompleteMultipartUpload(std::string_view location, std::string_view bucket,
                                          std::string_view key, std::string_view etag) {
  std::string out = OpenDocument("CompleteMultipartUploadResult");
  AppendElement(&out, "Location", location);
  AppendElement(&out, "Bucket", bucket);
  AppendElement(&out, "Key", key);
  AppendElement(&out, "ETag", "\"" + std::string(etag) + "\"");
  return out + "</CompleteMultipartUploadResult>";
}

std::string RenderListParts(const ListPartsParams& params, const ListPartsResult& result,
                            std::string_view owner_id) {
  std::string out = OpenDocument("ListPartsResult");
  AppendElement(&out, "Bucket", params.bucket);
  AppendElement(&out, "Key", params.key);
  AppendElement(&out, "UploadId", params.upload_id);
  AppendInitiatorAndOwner(&out, owner_id);
  AppendElement(&out, "StorageClass", "STANDARD");
  AppendElement(&out, "PartNumberMarker", std::to_string(params.part_number_marker));
  AppendElement(&out, "NextPartNumberMarker", std::to_string(result.next_part_number_marker));
  AppendElement(&out, "MaxParts", std::to_string(params.max_parts));
  AppendElement(&out, "IsTruncated", Bool(result.is_truncated));
  for (const UploadedPart& part : result.parts) {
    out += "<Part>";
    AppendElement(&out, "PartNumber", std::to_string(part.part_number));
    AppendElement(&out, "LastModified", IsoDate(part.modified_unix_ms));
    AppendElement(&out, "ETag", "\"" + part.etag + "\"");
    AppendElement(&out, "Size", std::to_string(part.size_bytes));
    out += "</Part>";
  }
  return out + "</ListPartsResult>";
}

std::string RenderListMultipartUploads(const ListUploadsParams& params,
                                       const ListUploadsResult& result, std::string_view owner_id) {
  bool url = params.encoding_url;
  std::string out = OpenDocument("ListMultipartUploadsResult");
  AppendElement(&out, "Bucket", params.bucket);
  AppendElement(&out, "KeyMarker", ListText(url, params.key_marker));
  AppendElement(&out, "UploadIdMarker", params.upload_id_marker);
  AppendElement(&out, "NextKeyMarker", ListText(url, result.next_key_marker));
  AppendElement(&out, "NextUploadIdMarker", result.next_upload_id_marker);
  if (!params.delimiter.empty()) AppendElement(&out, "Delimiter", ListText(url, params.delimiter));
  AppendElement(&out, "Prefix", ListText(url, params.prefix));
  AppendElement(&out, "MaxUploads", std::to_string(params.max_uploads));
  AppendElement(&out, "IsTruncated", Bool(result.is_truncated));
  if (url) AppendElement(&out, "EncodingType", "url");
  for (const MultipartUploadInfo& upload : result.uploads) {
    AppendUpload(&out, url, upload, owner_id);
  }
  AppendCommonPrefixes(&out, url, result.common_prefixes);
  return out + "</ListMultipartUploadsResult>";
}

}  // namespace holdfast::s3
