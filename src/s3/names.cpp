// Bucket names, object keys, and where a request puts them.
#include <algorithm>
#include <array>

#include "s3/s3.h"

namespace holdfast::s3 {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// "192.168.5.4": four dot-separated runs of digits.
bool LooksLikeIpv4(std::string_view name) {
  int dots = 0;
  bool run_has_digit = false;
  for (char c : name) {
    if (c == '.') {
      if (!run_has_digit) return false;
      ++dots;
      run_has_digit = false;
    } else if (c >= '0' && c <= '9') {
      run_has_digit = true;
    } else {
      return false;
    }
  }
  return dots == 3 && run_has_digit;
}

// Reserved by AWS: xn-- (punycode), sthree- (S3 internal), and the suffixes
// of access point aliases, Multi-Region Access Points and directory buckets.
// SDKs treat "--x-s3" names as S3 Express buckets and change how they sign,
// so such a bucket would be unusable here anyway.
constexpr std::array<std::string_view, 2> kReservedPrefixes = {"xn--", "sthree-"};
constexpr std::array<std::string_view, 4> kReservedSuffixes = {"-s3alias", "--ol-s3", ".mrap",
                                                               "--x-s3"};

// Length of the UTF-8 sequence at text[i], or 0 if it is not valid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length;
  uint32_t min_code_point;
  uint32_t code_point;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, min_code_point = 0x80, code_point = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, min_code_point = 0x800, code_point = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, min_code_point = 0x10000, code_point = lead & 0x07;
  } else {
    return 0;  // a continuation byte, an overlong 2-byte lead (C0, C1), or F5..FF
  }
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code_point = code_point << 6 | (byte(i + k) & 0x3F);
  }
  if (code_point < min_code_point || code_point > 0x10FFFF) return 0;
  if (code_point >= 0xD800 && code_point <= 0xDFFF) return 0;
  return length;
}

bool IsValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    size_t length = Utf8SequenceLength(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

S3Error InvalidUri() { return MakeS3Error("InvalidURI", "Couldn't parse the specified URI."); }

// The Host header without its port (and without the brackets of an IPv6
// literal), lower-cased: host names are case-insensitive.
std::string HostWithoutPort(std::string_view host) {
  if (host.starts_with('[')) {
    size_t close = host.find(']');
    host = close == std::string_view::npos ? host : host.substr(0, close + 1);
  } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  std::string out(host);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

}  // namespace

std::optional<S3Error> CheckBucketName(std::string_view name) {
  auto invalid = [&](std::string why) {
    return MakeS3Error("InvalidBucketName", "The specified bucket is not valid: " + why,
                       std::string(name));
  };
  if (name.size() < 3 || name.size() > 63) return invalid("it must be 3 to 63 characters long.");
  for (char c : name) {
    if (!IsLowerAlnum(c) && c != '-' && c != '.') {
      return invalid("only lower-case letters, digits, '-' and '.' are allowed.");
    }
  }
  if (!IsLowerAlnum(name.front()) || !IsLowerAlnum(name.back())) {
    return invalid("it must begin and end with a letter or digit.");
  }
  if (name.find("..") != std::string_view::npos) return invalid("it must not contain \"..\".");
  if (LooksLikeIpv4(name)) return invalid("it must not be formatted as an IP address.");
  for (std::string_view prefix : kReservedPrefixes) {
    if (name.starts_with(prefix))
      return invalid("the prefix \"" + std::string(prefix) + "\" is reserved.");
  }
  for (std::string_view suffix : kReservedSuffixes) {
    if (name.ends_with(suffix))
      return invalid("the suffix \"" + std::string(suffix) + "\" is reserved.");
  }
  return std::nullopt;
}

std::optional<S3Error> CheckObjectKey(std::string_view key) {
  if (key.empty()) return MakeS3Error("InvalidArgument", "The object key must not be empty.");
  if (key.size() > 1024) return MakeS3Error("KeyTooLongError", "Your key is too long");
  if (key.find('\0') != std::string_view::npos) {
    return MakeS3Error("InvalidArgument", "The object key must not contain the NUL character.");
  }
  if (!IsValidUtf8(key)) {
    return MakeS3Error("InvalidArgument", "The object key must be valid UTF-8.");
  }
  return std::nullopt;
}

std::variant<Target, S3Error> ParseTarget(const net::Request& request,
                                          std::string_view base_domain) {
  std::string_view path = request.path.empty() ? std::string_view("/") : request.path;
  if (!path.starts_with('/')) return InvalidUri();
  path.remove_prefix(1);

  Target target;
  std::string host = HostWithoutPort(request.headers.Get("Host").value_or(""));
  std::string suffix = "." + HostWithoutPort(base_domain);
  if (!base_domain.empty() && host.size() > suffix.size() && host.ends_with(suffix)) {
    // Virtual-hosted style: everything before the base domain is the bucket
    // (bucket names may contain dots), and the whole path is the key.
    target.bucket = host.substr(0, host.size() - suffix.size());
    if (!net::PercentDecode(path, &target.key)) return InvalidUri();
    return target;
  }
  // Path style. Split before decoding, so that "%2F" in the bucket segment
  // stays part of the (then invalid) bucket name instead of moving the split.
  size_t slash = path.find('/');
  std::string_view bucket = path.substr(0, slash);
  std::string_view key =
      slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  if (!net::PercentDecode(bucket, &target.bucket) || !net::PercentDecode(key, &target.key)) {
    return InvalidUri();
  }
  if (target.bucket.empty() && !target.key.empty()) return InvalidUri();  // "//key"
  return target;
}

}  // namespace holdfast::s3
