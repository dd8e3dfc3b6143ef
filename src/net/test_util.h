// Helpers for net/ tests: run a coroutine to completion from a test thread,
// and assertions usable inside coroutines.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <future>
#include <optional>
#include <string>

#include "net/http.h"

namespace holdfast::net {

// "code: message" for a failed Status/Result, nullopt for success.
inline std::optional<std::string> ErrorText(const Status& status) {
  if (status.ok()) return std::nullopt;
  return std::string(ErrcName(status.error().code)) + ": " + status.error().message;
}
template <typename T>
std::optional<std::string> ErrorText(const Result<T>& result) {
  if (result.ok()) return std::nullopt;
  return std::string(ErrcName(result.error().code)) + ": " + result.error().message;
}

// Assertions that end the enclosing coroutine (gtest's ASSERT_* cannot
// co_return). Each evaluates its argument once.
#define CO_ASSERT_TRUE(cond)                        \
  if (!(cond)) {                                    \
    ADD_FAILURE() << "assertion failed: " << #cond; \
    co_return;                                      \
  }
#define CO_ASSERT_OK(expr)                                          \
  if (auto co_assert_error = ::holdfast::net::ErrorText(expr)) {    \
    ADD_FAILURE() << #expr << ": " << *co_assert_error;             \
    co_return;                                                      \
  }

// Runs `body` on `context` and waits for it; a hang fails loudly instead of
// blocking the suite.
inline void RunOn(boost::asio::io_context& context, const std::function<Task<void>()>& body) {
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  boost::asio::co_spawn(context, body(), [&done](std::exception_ptr error) {
    if (error) {
      done.set_exception(error);
    } else {
      done.set_value();
    }
  });
  if (finished.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    std::fprintf(stderr, "test coroutine did not finish in 20 s\n");
    std::abort();
  }
  finished.get();
}

}  // namespace holdfast::net
