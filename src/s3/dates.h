// Internal to s3/: the three timestamp formats S3 speaks, as Unix
// milliseconds. HttpDate and IsoDate (the formatters) are public in s3.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace holdfast::s3 {

// "20130524T000000Z" (SigV4's x-amz-date). Rejects anything else, including
// impossible dates such as Feb 30.
std::optional<int64_t> ParseAmzDate(std::string_view text);
std::string FormatAmzDate(int64_t unix_ms);

// RFC 7231 IMF-fixdate, "Fri, 24 May 2013 00:00:00 GMT" (the Date header).
// The obsolete RFC 850 and asctime forms are not accepted.
std::optional<int64_t> ParseHttpDate(std::string_view text);

}  // namespace holdfast::s3
