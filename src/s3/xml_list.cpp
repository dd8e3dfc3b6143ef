// The XML of ListObjects (v1) and ListObjectVersions. Elements come in the
// order of the S3 API Reference's examples; with encoding-type=url, the
// names S3 encodes (keys, prefixes, delimiters, markers) are encoded.
#include "s3/s3_ops.h"
#include "s3/xml_internal.h"

namespace holdfast::s3 {
namespace {

const char* Bool(bool value) { return value ? "true" : "false"; }

void AppendV1Head(std::string* out, const ListV1Params& params, const meta::ListResult& result) {
  bool url = params.encoding_url;
  AppendElement(out, "Name", params.bucket);
  AppendElement(out, "Prefix", ListText(url, params.prefix));
  AppendElement(out, "Marker", ListText(url, params.marker));
  // Without a delimiter S3 leaves NextMarker out: the last key is the marker.
  if (result.is_truncated && !params.delimiter.empty()) {
    AppendElement(out, "NextMarker", ListText(url, result.next_start_after));
  }
  AppendElement(out, "MaxKeys", std::to_string(params.max_keys));
  if (!params.delimiter.empty()) AppendElement(out, "Delimiter", ListText(url, params.delimiter));
  AppendElement(out, "IsTruncated", Bool(result.is_truncated));
  if (url) AppendElement(out, "EncodingType", "url");
}

void AppendVersionsHead(std::string* out, const ListVersionsParams& params,
                        const ListVersionsResult& result) {
  bool url = params.encoding_url;
  AppendElement(out, "Name", params.bucket);
  AppendElement(out, "Prefix", ListText(url, params.prefix));
  AppendElement(out, "KeyMarker", ListText(url, params.key_marker));
  AppendElement(out, "VersionIdMarker", params.version_id_marker);
  if (result.is_truncated) {
    AppendElement(out, "NextKeyMarker", ListText(url, result.next_key_marker));
    AppendElement(out, "NextVersionIdMarker", result.next_version_id_marker);
  }
  AppendElement(out, "MaxKeys", std::to_string(params.max_keys));
  if (!params.delimiter.empty()) AppendElement(out, "Delimiter", ListText(url, params.delimiter));
  AppendElement(out, "IsTruncated", Bool(result.is_truncated));
  if (url) AppendElement(out, "EncodingType", "url");
}

// <Version> or <DeleteMarker>; a delete marker has no ETag, Size or class.
void AppendVersion(std::string* out, bool encoding_url, const ListedVersion& version,
                   std::string_view owner_id) {
  const char* element = version.is_delete_marker ? "DeleteMarker" : "Version";
  *out += '<';
  *out += element;
  *out += '>';
  AppendElement(out, "Key", ListText(encoding_url, version.key));
  AppendElement(out, "VersionId", version.version_id);
  AppendElement(out, "IsLatest", Bool(version.is_latest));
  AppendElement(out, "LastModified", IsoDate(version.modified_unix_ms));
  if (!version.is_delete_marker) {
    AppendElement(out, "ETag", "\"" + version.etag + "\"");
    AppendElement(out, "Size", std::to_string(version.size_bytes));
    AppendElement(out, "StorageClass", "STANDARD");
  }
  AppendOwner(out, owner_id);
  *out += "</";
  *out += element;
  *out += '>';
}

}  // namespace

std::string RenderListObjectsV1(const ListV1Params& params, const meta::ListResult& result,
                                std::string_view owner_id) {
  std::string out = OpenDocument("ListBucketResult");
  AppendV1Head(&out, params, result);
  for (const meta::ListedObject& object : result.objects) {
    out += "<Contents>";
    AppendElement(&out, "Key", ListText(params.encoding_url, object.key));
    AppendElement(&out, "LastModified", IsoDate(object.modified_unix_ms));
    AppendElement(&out, "ETag", "\"" + object.etag + "\"");
    AppendElement(&out, "Size", std::to_string(object.size_bytes));
    AppendElement(&out, "StorageClass", "STANDARD");
    AppendOwner(&out, owner_id);
    out += "</Contents>";
  }
  AppendCommonPrefixes(&out, params.encoding_url, result.common_prefixes);
  out += "</ListBucketResult>";
  return out;
}

std::string RenderListObjectVersions(const ListVersionsParams& params,
                                     const ListVersionsResult& result, std::string_view owner_id) {
  std::string out = OpenDocument("ListVersionsResult");
  AppendVersionsHead(&out, params, result);
  for (const ListedVersion& version : result.versions) {
    AppendVersion(&out, params.encoding_url, version, owner_id);
  }
  AppendCommonPrefixes(&out, params.encoding_url, result.common_prefixes);
  out += "</ListVersionsResult>";
  return out;
}

}  // namespace holdfast::s3
