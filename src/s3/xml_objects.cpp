// The XML of DeleteObjects, CopyObject, UploadPartCopy and bucket
// versioning.
#include <algorithm>

#include "s3/s3_ops.h"
#include "s3/xml_internal.h"

namespace holdfast::s3 {
namespace {

// The element children of `node`, and whether it holds nothing else but
// whitespace and comments: S3's schemas have no mixed content.
bool ElementsOnly(pugi::xml_node node) {
  return std::none_of(node.children().begin(), node.children().end(), [](pugi::xml_node child) {
    return child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata;
  });
}

// <Object><Key/><VersionId/>?</Object>. S3's newer conditional fields
// (ETag, LastModifiedTime, Size) are accepted and not acted on.
std::optional<ObjectToDelete> ParseObject(pugi::xml_node object) {
  if (!ElementsOnly(object)) return std::nullopt;
  ObjectToDelete out;
  int keys = 0;
  for (pugi::xml_node child : object.children()) {
    if (child.type() != pugi::node_element) continue;
    std::string_view name = LocalName(child.name());
    if (name == "Key") {
      out.key = child.text().as_string();
      ++keys;
    } else if (name == "VersionId") {
      out.version_id = child.text().as_string();
    }
  }
  if (keys != 1 || out.key.empty()) return std::nullopt;
  return out;
}

std::optional<bool> ParseBool(std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return std::nullopt;
}

std::string RenderCopyResult(std::string_view root, std::string_view etag,
                             int64_t modified_unix_ms) {
  std::string out = OpenDocument(root);
  AppendElement(&out, "ETag", "\"" + std::string(etag) + "\"");
  AppendElement(&out, "LastModified", IsoDate(modified_unix_ms));
  out += "</";
  out.append(root);
  out += '>';
  return out;
}

void AppendOutcome(std::string* out, const DeleteOutcome& outcome) {
  if (outcome.error) {
    *out += "<Error>";
    AppendElement(out, "Key", outcome.key);
    if (!outcome.version_id.empty()) AppendElement(out, "VersionId", outcome.version_id);
    AppendElement(out, "Code", outcome.error->code);
    AppendElement(out, "Message", outcome.error->message);
    *out += "</Error>";
    return;
  }
  *out += "<Deleted>";
  AppendElement(out, "Key", outcome.key);
  if (!outcome.version_id.empty()) AppendElement(out, "VersionId", outcome.version_id);
  if (outcome.delete_marker) {
    AppendElement(out, "DeleteMarker", "true");
    AppendElement(out, "DeleteMarkerVersionId", outcome.delete_marker_version_id);
  }
  *out += "</Deleted>";
}

}  // namespace

std::variant<DeleteObjectsRequest, S3Error> ParseDeleteObjects(std::string_view body) {
  pugi::xml_document document;
  pugi::xml_node root = ParseRoot(body, "Delete", &document);
  if (!root || !ElementsOnly(root)) return MalformedXml();
  DeleteObjectsRequest request;
  for (pugi::xml_node child : root.children()) {
    if (child.type() != pugi::node_element) continue;
    std::string_view name = LocalName(child.name());
    if (name == "Quiet") {
      std::optional<bool> quiet = ParseBool(child.text().as_string());
      if (!quiet) return MalformedXml();
      request.quiet = *quiet;
    } else if (name == "Object") {
      std::optional<ObjectToDelete> object = ParseObject(child);
      // S3 answers MalformedXML past 1000 objects too, not a clearer error.
      if (!object || request.objects.size() == kMaxDeleteObjects) return MalformedXml();
      request.objects.push_back(std::move(*object));
    } else {
      return MalformedXml();
    }
  }
  if (request.objects.empty()) return MalformedXml();
  return request;
}

std::string RenderDeleteResult(const std::vector<DeleteOutcome>& outcomes, bool quiet) {
  std::string out = OpenDocument("DeleteResult");
  for (const DeleteOutcome& outcome : outcomes) {
    if (quiet && !outcome.error) continue;
    AppendOutcome(&out, outcome);
  }
  out += "</DeleteResult>";
  return out;
}

std::string RenderCopyObjectResult(std::string_view etag, int64_t modified_unix_ms) {
  return RenderCopyResult("CopyObjectResult", etag, modified_unix_ms);
}

std::string RenderCopyPartResult(std::string_view etag, int64_t modified_unix_ms) {
  return RenderCopyResult("CopyPartResult", etag, modified_unix_ms);
}

std::variant<VersioningStatus, S3Error> ParseVersioningConfiguration(std::string_view body) {
  pugi::xml_document document;
  pugi::xml_node root = ParseRoot(body, "VersioningConfiguration", &document);
  if (!root || !ElementsOnly(root)) return MalformedXml();
  std::optional<VersioningStatus> status;
  for (pugi::xml_node child : root.children()) {
    if (child.type() != pugi::node_element) continue;
    std::string_view name = LocalName(child.name());
    std::string_view text = child.text().as_string();
    if (name == "Status" && !status && text == "Enabled") {
      status = VersioningStatus::kEnabled;
    } else if (name == "Status" && !status && text == "Suspended") {
      status = VersioningStatus::kSuspended;
    } else if (name != "MfaDelete") {
      return MalformedXml();
    }
  }
  if (!status) return MalformedXml();
  return *status;
}

std::string RenderVersioningConfiguration(VersioningStatus status) {
  if (status == VersioningStatus::kNeverEnabled) {
    std::string out = OpenDocument("VersioningConfiguration");
    out.back() = '/';  // "<VersioningConfiguration xmlns=.../>", as S3 sends it
    return out + ">";
  }
  std::string out = OpenDocument("VersioningConfiguration");
  AppendElement(&out, "Status", status == VersioningStatus::kEnabled ? "Enabled" : "Suspended");
  return out + "</VersioningConfiguration>";
}

}  // namespace holdfast::s3
