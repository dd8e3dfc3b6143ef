// Human-readable reports of the admin API's JSON, for `holdfast status` and
// `holdfast drill`. Pure (JSON in, text out) and tolerant: a field the
// gateway does not send (an older gateway, a feature not there yet) leaves
// its line out rather than failing. Unit-tested in reports_test.cpp.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace holdfast::cli {

// 1536 -> "1.5 KiB"; below 1 KiB in bytes ("512 B").
std::string HumanBytes(double bytes);
// HumanBytes + "/s".
std::string HumanRate(double bytes_per_second);
// 0.4 -> "0.4 s", 75 -> "1 min 15 s", 7300 -> "2 h 1 min", 200000 -> "2 d 7 h".
std::string HumanDuration(double seconds);

// GET /_holdfast/v1/status as a report. `endpoint` names the gateway asked;
// `now_unix_ms` dates ages such as "last scrub pass 2 min ago".
std::string RenderStatusReport(const nlohmann::json& status, const std::string& endpoint,
                               int64_t now_unix_ms);

// GET /_holdfast/v1/drill as a report.
std::string RenderDrillReport(const nlohmann::json& drill);

}  // namespace holdfast::cli
