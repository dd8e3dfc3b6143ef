// IoPool, coroutine helpers, and the non-virtual conveniences of the body
// interfaces. No Beast here.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <cstdio>
#include <exception>
#include <mutex>

#include "net/http.h"

namespace holdfast::net {
namespace asio = boost::asio;

IoPool::IoPool(int thread_count) {
  const int count = thread_count < 1 ? 1 : thread_count;
  for (int i = 0; i < count; ++i) {
    // Concurrency hint 1: each context is run by exactly one thread, so asio
    // can skip internal locking.
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    work_guards_.push_back(
        std::make_shared<asio::executor_work_guard<asio::io_context::executor_type>>(
            contexts_.back()->get_executor()));
  }
  for (auto& context : contexts_) {
    threads_.emplace_back([io = context.get()] {
      for (;;) {
        try {
          io->run();
          return;
        } catch (const std::exception& e) {
          // A handler threw past its coroutine; keep the context alive for
          // the other connections on it.
          std::fprintf(stderr, "holdfast net: exception escaped an I/O handler: %s\n", e.what());
        } catch (...) {
          std::fprintf(stderr, "holdfast net: exception escaped an I/O handler\n");
        }
      }
    });
  }
}

IoPool::~IoPool() {
  Stop();
  Join();
}

asio::io_context& IoPool::next_context() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void IoPool::Stop() {
  work_guards_.clear();
  for (auto& context : contexts_) context->stop();
}

void IoPool::Join() {
  for (auto& thread : threads_) {
    if (thread.joinable() && thread.get_id() != std::this_thread::get_id()) thread.join();
  }
}

Task<std::vector<Status>> ParallelAll(std::vector<Task<Status>> tasks) {
  auto executor = co_await asio::this_coro::executor;
  if (tasks.empty()) co_return std::vector<Status>();

  // Completions run on `executor`, which is single-threaded (an IoPool
  // context), so the shared state needs no lock. The last task to finish
  // moves the timer's expiry into the past, which both wakes a waiter and
  // makes a wait that has not started yet complete at once (a task may
  // finish inline before we get to wait).
  struct State {
    explicit State(const Executor& ex, size_t count)
        : results(count), remaining(count), all_done(ex, asio::steady_timer::time_point::max()) {}
    std::vector<Status> results;
    size_t remaining;
    asio::steady_timer all_done;
  };
  auto state = std::make_shared<State>(executor, tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    asio::co_spawn(executor, std::move(tasks[i]),
                   [state, i](std::exception_ptr error, Status status) {
                     if (error) {
                       try {
                         std::rethrow_exception(error);
                       } catch (const std::exception& e) {
                         status = MakeError(Errc::kInternal, e.what());
                       } catch (...) {
                         status = MakeError(Errc::kInternal, "unknown exception in task");
                       }
                     }
                     state->results[i] = std::move(status);
                     if (--state->remaining == 0) {
                       state->all_done.expires_at(asio::steady_timer::time_point::min());
                     }
                   });
  }
  while (state->remaining > 0) {
    // Errors (operation_aborted from the expiry change) just mean "look again".
    (void)co_await state->all_done.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return std::move(state->results);
}

Task<void> SleepFor(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  (void)co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

struct ChangeSignal::State {
  std::mutex mutex;
  uint64_t generation = 0;
  std::vector<std::shared_ptr<asio::steady_timer>> waiters;
};

ChangeSignal::ChangeSignal() : state_(std::make_shared<State>()) {}
ChangeSignal::~ChangeSignal() = default;

uint64_t ChangeSignal::generation() const {
  std::lock_guard lock(state_->mutex);
  return state_->generation;
}

void ChangeSignal::Notify() {
  std::lock_guard lock(state_->mutex);
  ++state_->generation;
  // A timer is only touched on its own executor. The waiter registered and
  // started waiting in one step on a single-threaded executor, so the
  // cancel cannot run before the wait has begun.
  for (const auto& timer : state_->waiters) {
    asio::post(timer->get_executor(), [timer] { timer->cancel(); });
  }
}

Task<void> ChangeSignal::WaitAfter(uint64_t seen, std::chrono::milliseconds timeout) {
  auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, timeout);
  {
    std::lock_guard lock(state_->mutex);
    if (state_->generation != seen) co_return;
    state_->waiters.push_back(timer);
  }
  (void)co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  std::lock_guard lock(state_->mutex);
  std::erase(state_->waiters, timer);
}

Task<Result<size_t>> BodyReader::ReadFull(std::span<uint8_t> buffer) {
  size_t filled = 0;
  while (filled < buffer.size()) {
    Result<size_t> n = co_await Read(buffer.subspan(filled));
    if (!n.ok()) co_return n.error();
    if (*n == 0) break;
    filled += *n;
  }
  co_return filled;
}

Task<Status> ResponseWriter::Send(int status, const Headers& headers, std::string_view body) {
  Status result = co_await WriteHead(status, headers, body.size());
  if (!result.ok()) co_return result;
  if (!body.empty()) {
    result = co_await WriteBody(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
    if (!result.ok()) co_return result;
  }
  co_return co_await Finish();
}

}  // namespace holdfast::net
