// Internal to s3/: the building blocks of XML bodies, shared by xml.cpp
// (service and bucket listings), xml_list.cpp, xml_objects.cpp and
// xml_multipart.cpp. Responses are built as strings; requests are parsed
// with pugixml.
#pragma once

#include <pugixml.hpp>
#include <string>
#include <string_view>

#include "s3/s3.h"

namespace holdfast::s3 {

inline constexpr std::string_view kXmlDeclaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
inline constexpr std::string_view kS3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/";

// The declaration and "<root xmlns=...>".
std::string OpenDocument(std::string_view root);
// <name>escaped text</name>
void AppendElement(std::string* out, std::string_view name, std::string_view text);
// <Owner><ID/><DisplayName/></Owner>; Holdfast has no display names.
void AppendOwner(std::string* out, std::string_view owner_id);
// encoding-type=url: S3 percent-encodes the names it returns but keeps '/'.
std::string ListText(bool encoding_url, std::string_view text);
void AppendCommonPrefixes(std::string* out, bool encoding_url,
                          const std::vector<std::string>& prefixes);

S3Error MalformedXml();
// The local part of "ns:Name".
std::string_view LocalName(std::string_view name);
// Parses a request body into `document` and returns its root element if it
// is the only one (no text beside it) and is called `root_name` in any
// namespace; an empty node otherwise. Whitespace-only text that is an
// element's whole content is kept: "<Key> </Key>" names the key " ".
pugi::xml_node ParseRoot(std::string_view body, std::string_view root_name,
                         pugi::xml_document* document);

}  // namespace holdfast::s3
