// Minimal structured-ish logging to stderr: one line per event, with a UTC
// timestamp, level and component. Thread-safe (one write() per line).
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace holdfast {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLogLevel(LogLevel level);
void SetLogComponent(std::string_view component);  // e.g. "gateway", "node a1"
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, std::string_view message);

template <typename... Args>
void Log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (LogEnabled(level)) LogLine(level, fmt::format(format, std::forward<Args>(args)...));
}
#define HF_LOG_INFO(...) ::holdfast::Log(::holdfast::LogLevel::kInfo, __VA_ARGS__)
#define HF_LOG_WARN(...) ::holdfast::Log(::holdfast::LogLevel::kWarn, __VA_ARGS__)
#define HF_LOG_ERROR(...) ::holdfast::Log(::holdfast::LogLevel::kError, __VA_ARGS__)
#define HF_LOG_DEBUG(...) ::holdfast::Log(::holdfast::LogLevel::kDebug, __VA_ARGS__)

}  // namespace holdfast
