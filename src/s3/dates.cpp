// Timestamp formats. Calendar arithmetic goes through <chrono>'s civil
// calendar (no time zones, no locale, no gmtime), so it is thread-safe and
// exact for any year.
#include "s3/dates.h"

#include <array>
#include <chrono>
#include <cstdio>

#include "s3/s3.h"
#include "s3/s3_ops.h"

namespace holdfast::s3 {
namespace {

using std::chrono::days;
using std::chrono::milliseconds;
using std::chrono::sys_days;

constexpr std::array<std::string_view, 7> kWeekdays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct Civil {
  int year = 0;
  unsigned month = 0;  // 1..12
  unsigned day = 0;    // 1..31
  int hour = 0, minute = 0, second = 0, millisecond = 0;
  unsigned weekday = 0;  // 0 = Sunday
};

Civil ToCivil(int64_t unix_ms) {
  auto time = std::chrono::sys_time<milliseconds>(milliseconds(unix_ms));
  auto day_start = std::chrono::floor<days>(time);
  std::chrono::year_month_day ymd(day_start);
  int64_t ms_of_day = (time - day_start).count();
  Civil c;
  c.year = static_cast<int>(ymd.year());
  c.month = static_cast<unsigned>(ymd.month());
  c.day = static_cast<unsigned>(ymd.day());
  c.hour = static_cast<int>(ms_of_day / 3'600'000);
  c.minute = static_cast<int>(ms_of_day / 60'000 % 60);
  c.second = static_cast<int>(ms_of_day / 1000 % 60);
  c.millisecond = static_cast<int>(ms_of_day % 1000);
  c.weekday = std::chrono::weekday(day_start).c_encoding();
  return c;
}

std::optional<int64_t> FromCivil(int year, int month, int day, int hour, int minute, int second) {
  std::chrono::year_month_day ymd{std::chrono::year(year),
                                  std::chrono::month(static_cast<unsigned>(month)),
                                  std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  int64_t day_count = sys_days(ymd).time_since_epoch().count();
  return ((day_count * 24 + hour) * 60 + minute) * 60'000 + int64_t{second} * 1000;
}

// Reads exactly `width` decimal digits at text[*pos]; advances *pos.
bool ReadDigits(std::string_view text, size_t* pos, size_t width, int* out) {
  if (*pos + width > text.size()) return false;
  int value = 0;
  for (size_t i = 0; i < width; ++i) {
    char c = text[*pos + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  *pos += width;
  *out = value;
  return true;
}

bool ReadLiteral(std::string_view text, size_t* pos, std::string_view literal) {
  if (text.substr(*pos, literal.size()) != literal) return false;
  *pos += literal.size();
  return true;
}

}  // namespace

std::optional<int64_t> ParseAmzDate(std::string_view text) {
  size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!ReadDigits(text, &pos, 4, &year) || !ReadDigits(text, &pos, 2, &month) ||
      !ReadDigits(text, &pos, 2, &day) || !ReadLiteral(text, &pos, "T") ||
      !ReadDigits(text, &pos, 2, &hour) || !ReadDigits(text, &pos, 2, &minute) ||
      !ReadDigits(text, &pos, 2, &second) || !ReadLiteral(text, &pos, "Z") || pos != text.size()) {
    return std::nullopt;
  }
  return FromCivil(year, month, day, hour, minute, second);
}

std::string FormatAmzDate(int64_t unix_ms) {
  Civil c = ToCivil(unix_ms);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", c.year, c.month, c.day, c.hour,
                c.minute, c.second);
  return buf;
}

std::optional<int64_t> ParseHttpDate(std::string_view text) {
  // "Fri, 24 May 2013 00:00:00 GMT"; the weekday is checked against the date.
  if (text.size() != 29) return std::nullopt;
  size_t pos = 5;
  int day, year, hour, minute, second;
  if (text.substr(3, 2) != ", " || !ReadDigits(text, &pos, 2, &day) ||
      !ReadLiteral(text, &pos, " ")) {
    return std::nullopt;
  }
  int month = 0;
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (text.substr(pos, 3) == kMonths[i]) month = static_cast<int>(i) + 1;
  }
  pos += 3;
  if (month == 0 || !ReadLiteral(text, &pos, " ") || !ReadDigits(text, &pos, 4, &year) ||
      !ReadLiteral(text, &pos, " ") || !ReadDigits(text, &pos, 2, &hour) ||
      !ReadLiteral(text, &pos, ":") || !ReadDigits(text, &pos, 2, &minute) ||
      !ReadLiteral(text, &pos, ":") || !ReadDigits(text, &pos, 2, &second) ||
      !ReadLiteral(text, &pos, " GMT")) {
    return std::nullopt;
  }
  std::optional<int64_t> unix_ms = FromCivil(year, month, day, hour, minute, second);
  if (!unix_ms || text.substr(0, 3) != kWeekdays[ToCivil(*unix_ms).weekday]) return std::nullopt;
  return unix_ms;
}

std::string HttpDate(int64_t unix_ms) {
  Civil c = ToCivil(unix_ms);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d GMT", kWeekdays[c.weekday].data(),
                c.day, kMonths[c.month - 1].data(), c.year, c.hour, c.minute, c.second);
  return buf;
}

std::optional<int64_t> ParseIsoDate(std::string_view text) {
  // "2027-01-01T00:00:00[.fraction](Z|+hh:mm|-hh:mm)": what SDKs send for
  // Object Lock dates (botocore: "Z", with microseconds when not zero).
  size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!ReadDigits(text, &pos, 4, &year) || !ReadLiteral(text, &pos, "-") ||
      !ReadDigits(text, &pos, 2, &month) || !ReadLiteral(text, &pos, "-") ||
      !ReadDigits(text, &pos, 2, &day) || !ReadLiteral(text, &pos, "T") ||
      !ReadDigits(text, &pos, 2, &hour) || !ReadLiteral(text, &pos, ":") ||
      !ReadDigits(text, &pos, 2, &minute) || !ReadLiteral(text, &pos, ":") ||
      !ReadDigits(text, &pos, 2, &second)) {
    return std::nullopt;
  }
  int millisecond = 0;
  if (ReadLiteral(text, &pos, ".")) {
    int digits = 0;
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++digits) {
      if (digits < 3) millisecond = millisecond * 10 + (text[pos] - '0');
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 3; ++i) millisecond *= 10;  // ".5" is 500 ms
  }
  int64_t offset_ms = 0;
  if (!ReadLiteral(text, &pos, "Z")) {
    if (pos >= text.size() || (text[pos] != '+' && text[pos] != '-')) return std::nullopt;
    const int sign = text[pos++] == '+' ? 1 : -1;
    int offset_hours, offset_minutes;
    if (!ReadDigits(text, &pos, 2, &offset_hours) || !ReadLiteral(text, &pos, ":") ||
        !ReadDigits(text, &pos, 2, &offset_minutes) || offset_hours > 23 || offset_minutes > 59) {
      return std::nullopt;
    }
    offset_ms = sign * (int64_t{offset_hours} * 60 + offset_minutes) * 60'000;
  }
  if (pos != text.size()) return std::nullopt;
  std::optional<int64_t> unix_ms = FromCivil(year, month, day, hour, minute, second);
  if (!unix_ms) return std::nullopt;
  return *unix_ms + millisecond - offset_ms;
}

std::string IsoDate(int64_t unix_ms) {
  Civil c = ToCivil(unix_ms);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", c.year, c.month, c.day,
                c.hour, c.minute, c.second, c.millisecond);
  return buf;
}

}  // namespace holdfast::s3
