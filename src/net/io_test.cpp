// IoPool and the coroutine helpers, without sockets.
#include <gtest/gtest.h>

#include <boost/asio/thread_pool.hpp>

#include <stdexcept>
#include <thread>

#include "net/http.h"
#include "net/test_util.h"

namespace holdfast::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(IoPoolTest, RoundRobinsContexts) {
  IoPool pool(3);
  EXPECT_EQ(pool.size(), 3u);
  boost::asio::io_context* first = &pool.next_context();
  EXPECT_NE(&pool.next_context(), first);
  EXPECT_NE(&pool.next_context(), first);
  EXPECT_EQ(&pool.next_context(), first);
  EXPECT_EQ(&pool.context(4), &pool.context(1));
}

TEST(SleepForTest, Sleeps) {
  IoPool pool(1);
  RunOn(pool.context(0), []() -> Task<void> {
    const auto start = Clock::now();
    co_await SleepFor(20ms);
    EXPECT_GE(Clock::now() - start, 20ms);
  });
}

TEST(ChangeSignalTest, ReturnsAtOnceIfNotifiedSinceSeen) {
  IoPool pool(1);
  ChangeSignal signal;
  const uint64_t seen = signal.generation();
  signal.Notify();
  EXPECT_NE(signal.generation(), seen);
  RunOn(pool.context(0), [&]() -> Task<void> {
    const auto start = Clock::now();
    co_await signal.WaitAfter(seen, 10s);
    EXPECT_LT(Clock::now() - start, 5s);
  });
}

TEST(ChangeSignalTest, TimesOutWithoutNotify) {
  IoPool pool(1);
  ChangeSignal signal;
  RunOn(pool.context(0), [&]() -> Task<void> {
    const auto start = Clock::now();
    co_await signal.WaitAfter(signal.generation(), 20ms);
    EXPECT_GE(Clock::now() - start, 20ms);
  });
}

Task<Status> WaitForSignal(ChangeSignal& signal, uint64_t seen) {
  co_await signal.WaitAfter(seen, 10s);
  co_return Status::Ok();
}

Task<Status> NotifyFromAnotherThread(ChangeSignal& signal) {
  std::thread([&signal] { signal.Notify(); }).join();
  co_return Status::Ok();
}

TEST(ChangeSignalTest, NotifyFromAnotherThreadWakesEveryWaiter) {
  IoPool pool(1);
  ChangeSignal signal;
  RunOn(pool.context(0), [&]() -> Task<void> {
    const auto start = Clock::now();
    const uint64_t seen = signal.generation();
    // ParallelAll starts them in order on this one thread: the notifier runs
    // once both waiters are waiting.
    std::vector<Task<Status>> tasks;
    tasks.push_back(WaitForSignal(signal, seen));
    tasks.push_back(WaitForSignal(signal, seen));
    tasks.push_back(NotifyFromAnotherThread(signal));
    (void)co_await ParallelAll(std::move(tasks));
    EXPECT_LT(Clock::now() - start, 5s);
  });
}

TEST(ParallelAllTest, KeepsOrderAndRunsConcurrently) {
  IoPool pool(1);
  RunOn(pool.context(0), [&]() -> Task<void> {
    auto sleeper = [](int index) -> Task<Status> {
      co_await SleepFor(100ms);
      if (index == 3) throw std::runtime_error("boom");
      if (index % 2 == 1) co_return MakeError(Errc::kNotFound, std::to_string(index));
      co_return Status::Ok();
    };
    std::vector<Task<Status>> tasks;
    for (int i = 0; i < 6; ++i) tasks.push_back(sleeper(i));
    const auto start = Clock::now();
    std::vector<Status> results = co_await ParallelAll(std::move(tasks));
    EXPECT_LT(Clock::now() - start, 1s);
    CO_ASSERT_TRUE(results.size() == 6u);
    for (int i = 0; i < 6; ++i) {
      if (i == 3) {
        CO_ASSERT_TRUE(!results[i].ok());
        EXPECT_EQ(results[i].error().code, Errc::kInternal);
        EXPECT_EQ(results[i].error().message, "boom");
      } else if (i % 2 == 1) {
        CO_ASSERT_TRUE(!results[i].ok());
        EXPECT_EQ(results[i].error().message, std::to_string(i));
      } else {
        EXPECT_TRUE(results[i].ok()) << i;
      }
    }
    // Tasks that finish without ever suspending, and no tasks at all.
    std::vector<Task<Status>> immediate;
    for (int i = 0; i < 3; ++i) immediate.push_back([]() -> Task<Status> { co_return Status::Ok(); }());
    std::vector<Status> immediate_results = co_await ParallelAll(std::move(immediate));
    EXPECT_EQ(immediate_results.size(), 3u);
    std::vector<Status> no_results = co_await ParallelAll({});
    EXPECT_TRUE(no_results.empty());
  });
}

TEST(RunBlockingTest, RunsOffThreadAndResumesOnCaller) {
  IoPool pool(1);
  asio::thread_pool blocking(1);
  RunOn(pool.context(0), [&]() -> Task<void> {
    const auto caller = std::this_thread::get_id();
    std::thread::id ran_on;
    Status status = co_await RunBlocking(blocking, [&] {
      ran_on = std::this_thread::get_id();
      return Status(MakeError(Errc::kIo, "disk"));
    });
    EXPECT_NE(ran_on, caller);
    EXPECT_EQ(std::this_thread::get_id(), caller);
    CO_ASSERT_TRUE(!status.ok());
    EXPECT_EQ(status.error().code, Errc::kIo);

    Result<int> value = co_await RunBlocking(blocking, [] { return Result<int>(42); });
    CO_ASSERT_OK(value);
    EXPECT_EQ(*value, 42);
    EXPECT_EQ(std::this_thread::get_id(), caller);

    int side_effect = 0;
    co_await RunBlocking(blocking, [&] { side_effect = 7; });
    EXPECT_EQ(side_effect, 7);
  });
}

}  // namespace
}  // namespace holdfast::net
