// XML bodies of the service and bucket listings, and the building blocks of
// all XML bodies (xml_internal.h). Every piece of text that reaches a
// response goes through XmlEscape.
#include <cstdio>
#include <pugixml.hpp>

#include "common/digest.h"
#include "s3/s3.h"
#include "s3/xml_internal.h"

namespace holdfast::s3 {
namespace {

constexpr std::string_view kTokenVersion = "v1:";

void AppendListHead(std::string* out, const ListV2Params& params, const meta::ListResult& result) {
  bool url = params.encoding_url;
  AppendElement(out, "Name", params.bucket);
  AppendElement(out, "Prefix", ListText(url, params.prefix));
  if (!params.delimiter.empty()) AppendElement(out, "Delimiter", ListText(url, params.delimiter));
  AppendElement(out, "MaxKeys", std::to_string(params.max_keys));
  AppendElement(out, "KeyCount",
                std::to_string(result.objects.size() + result.common_prefixes.size()));
  AppendElement(out, "IsTruncated", result.is_truncated ? "true" : "false");
  if (!params.continuation_token.empty()) {
    AppendElement(out, "ContinuationToken", params.continuation_token);
  }
  if (result.is_truncated) {
    AppendElement(out, "NextContinuationToken", MakeContinuationToken(result.next_start_after));
  }
  if (!params.start_after.empty()) {
    AppendElement(out, "StartAfter", ListText(url, params.start_after));
  }
  if (url) AppendElement(out, "EncodingType", "url");
}

void AppendContents(std::string* out, const ListV2Params& params, const meta::ListedObject& object,
                    std::string_view owner_id) {
  *out += "<Contents>";
  AppendElement(out, "Key", ListText(params.encoding_url, object.key));
  AppendElement(out, "LastModified", IsoDate(object.modified_unix_ms));
  AppendElement(out, "ETag", "\"" + object.etag + "\"");
  AppendElement(out, "Size", std::to_string(object.size_bytes));
  AppendElement(out, "StorageClass", "STANDARD");
  if (params.fetch_owner) AppendOwner(out, owner_id);
  *out += "</Contents>";
}

// Base64 with '-' and '_' for '+' and '/': a token travels in a query string,
// where a raw '+' may be read as a space.
std::string ToUrlAlphabet(std::string text) {
  for (char& c : text) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return text;
}

std::string FromUrlAlphabet(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = c == '-' ? '+' : c == '_' ? '/' : c;
  return out;
}

// A document has exactly one root element, and no text beside it.
bool HasSingleRoot(const pugi::xml_document& document) {
  int elements = 0;
  for (pugi::xml_node node : document.children()) {
    if (node.type() == pugi::node_element) ++elements;
    if (node.type() == pugi::node_pcdata || node.type() == pugi::node_cdata) return false;
  }
  return elements == 1;
}

}  // namespace

std::string OpenDocument(std::string_view root) {
  std::string out(kXmlDeclaration);
  out += '<';
  out.append(root);
  out += " xmlns=\"";
  out.append(kS3Namespace);
  out += "\">";
  return out;
}

void AppendElement(std::string* out, std::string_view name, std::string_view text) {
  *out += '<';
  out->append(name);
  *out += '>';
  *out += XmlEscape(text);
  *out += "</";
  out->append(name);
  *out += '>';
}

void AppendOwner(std::string* out, std::string_view owner_id) {
  // The ID stands in for the display name, as on S3-compatible stores that
  // have none either.
  *out += "<Owner>";
  AppendElement(out, "ID", owner_id);
  AppendElement(out, "DisplayName", owner_id);
  *out += "</Owner>";
}

std::string ListText(bool encoding_url, std::string_view text) {
  return encoding_url ? net::PercentEncode(text, /*keep_slash=*/true) : std::string(text);
}

void AppendCommonPrefixes(std::string* out, bool encoding_url,
                          const std::vector<std::string>& prefixes) {
  for (const std::string& prefix : prefixes) {
    *out += "<CommonPrefixes>";
    AppendElement(out, "Prefix", ListText(encoding_url, prefix));
    *out += "</CommonPrefixes>";
  }
}

S3Error MalformedXml() {
  return MakeS3Error("MalformedXML",
                     "The XML you provided was not well-formed or did not validate against our "
                     "published schema");
}

std::string_view LocalName(std::string_view name) {
  size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

pugi::xml_node ParseRoot(std::string_view body, std::string_view root_name,
                         pugi::xml_document* document) {
  // parse_fragment keeps text found beside the root, so HasSingleRoot sees it.
  unsigned options = pugi::parse_default | pugi::parse_fragment | pugi::parse_ws_pcdata_single;
  pugi::xml_parse_result parsed =
      document->load_buffer(body.data(), body.size(), options, pugi::encoding_utf8);
  if (!parsed || !HasSingleRoot(*document)) return {};
  pugi::xml_node root = document->document_element();
  return LocalName(root.name()) == root_name ? root : pugi::xml_node();
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\t':
      case '\n':
        out += c;
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          // Control characters cannot appear literally in XML 1.0, and a
          // literal CR would be normalised away by the reader. S3 writes them
          // as character references; clients that cannot read those use
          // encoding-type=url.
          char ref[8];
          std::snprintf(ref, sizeof ref, "&#x%X;", static_cast<unsigned>(c));
          out += ref;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string RenderListBuckets(const std::vector<meta::Bucket>& buckets, std::string_view owner_id) {
  std::string out = OpenDocument("ListAllMyBucketsResult");
  AppendOwner(&out, owner_id);
  out += "<Buckets>";
  for (const meta::Bucket& bucket : buckets) {
    out += "<Bucket>";
    AppendElement(&out, "Name", bucket.name);
    AppendElement(&out, "CreationDate", IsoDate(bucket.created_unix_ms));
    out += "</Bucket>";
  }
  out += "</Buckets></ListAllMyBucketsResult>";
  return out;
}

std::string MakeContinuationToken(std::string_view start_after) {
  std::string plain(kTokenVersion);
  plain.append(start_after);
  return ToUrlAlphabet(Base64Encode(AsBytes(plain)));
}

Result<std::string> ParseContinuationToken(std::string_view token) {
  std::string plain;
  // Re-encoding must give the token back: that rejects the non-canonical
  // spellings the decoder would tolerate (whitespace, stray padding bits).
  if (!Base64Decode(FromUrlAlphabet(token), &plain) || !plain.starts_with(kTokenVersion) ||
      MakeContinuationToken(std::string_view(plain).substr(kTokenVersion.size())) != token) {
    return MakeError(Errc::kInvalidArgument, "The continuation token provided is incorrect");
  }
  return plain.substr(kTokenVersion.size());
}

std::string RenderListObjectsV2(const ListV2Params& params, const meta::ListResult& result,
                                std::string_view owner_id) {
  std::string out = OpenDocument("ListBucketResult");
  AppendListHead(&out, params, result);
  for (const meta::ListedObject& object : result.objects) {
    AppendContents(&out, params, object, owner_id);
  }
  AppendCommonPrefixes(&out, params.encoding_url, result.common_prefixes);
  out += "</ListBucketResult>";
  return out;
}

std::variant<std::string, S3Error> ParseCreateBucketConfiguration(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::string();
  pugi::xml_document document;
  pugi::xml_node root = ParseRoot(body, "CreateBucketConfiguration", &document);
  if (!root) return MalformedXml();
  std::string location;
  for (pugi::xml_node child : root.children()) {
    if (child.type() == pugi::node_element && LocalName(child.name()) == "LocationConstraint") {
      location = child.text().as_string();
    }
  }
  return location;
}

}  // namespace holdfast::s3
