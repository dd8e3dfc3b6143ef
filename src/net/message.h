// HTTP messages as plain data: headers and request heads. No Asio or Beast
// here, so protocol code (s3/) can use them cheaply.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace holdfast::net {

// ASCII case-insensitive equality, as HTTP field names and tokens compare.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Case-insensitive header list that keeps order and duplicates.
class Headers {
 public:
  void Add(std::string name, std::string value);
  void Set(std::string name, std::string value);  // replaces all of that name
  std::optional<std::string_view> Get(std::string_view name) const;  // first match
  bool Has(std::string_view name) const { return Get(name).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& all() const { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

struct Request {
  std::string method;   // "GET", "PUT", ...
  std::string target;   // raw request-target, e.g. "/b/k%20y?list-type=2"
  std::string path;     // target before '?', still percent-encoded
  std::string query;    // target after '?', without it ("" if none)
  Headers headers;
  std::optional<uint64_t> content_length;  // nullopt: chunked or no body
  bool chunked = false;
  std::string remote_address;
};

// Percent-decodes `text` (as in a URL path or query component); "+" is kept
// as "+". Returns false on a malformed escape.
bool PercentDecode(std::string_view text, std::string* out);
// Percent-encodes everything except unreserved characters (A-Z a-z 0-9 - _ . ~)
// and, if `keep_slash`, "/".
std::string PercentEncode(std::string_view text, bool keep_slash);
// Splits a raw query string into decoded (name, value) pairs, in order.
// Returns false on a malformed escape.
bool ParseQuery(std::string_view query, std::vector<std::pair<std::string, std::string>>* out);

}  // namespace holdfast::net
