// net: HTTP/1.1 server and client over Boost.Beast with C++20 coroutines.
// Start here for net/.  Only net/*.cpp include Beast; everything else sees
// this header, so most translation units compile without it.
//
// The server runs one coroutine per connection: read a request head, call the
// Handler, which reads the body through a BodyReader and writes the response
// through a ResponseWriter, then loop for keep-alive. Bodies stream in both
// directions; neither side ever buffers a whole body. Handlers never see a
// socket.
//
// Threading model: an IoPool owns N io_contexts, each run by one thread. A
// connection lives on one context for its whole life, so a request's
// coroutines (including the ones it starts with ParallelAll) never run
// concurrently with each other and need no locks between them. State shared
// across requests must be thread-safe. Blocking work (fsync, SQLite) is moved
// off the I/O threads with RunBlocking.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "common/result.h"
#include "net/message.h"

namespace holdfast::net {

template <typename T>
using Task = boost::asio::awaitable<T>;
using Executor = boost::asio::any_io_executor;

// Reads the request body, undoing chunked transfer-encoding. Sends
// "100 Continue" on the first read if the client asked for it.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Reads up to buffer.size() bytes. 0 = the body is complete. kUnavailable
  // if the client disconnected or stalled before the body was complete (a
  // truncated body is never reported as complete).
  virtual Task<Result<size_t>> Read(std::span<uint8_t> buffer) = 0;
  // Reads until `buffer` is full or the body ends; returns bytes read.
  Task<Result<size_t>> ReadFull(std::span<uint8_t> buffer);
  // Bytes of body delivered so far.
  virtual uint64_t bytes_read() const = 0;
};

class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  // Sends the status line and headers. With `content_length`, exactly that
  // many body bytes must follow; without, the body is sent chunked.
  virtual Task<Status> WriteHead(int status, const Headers& headers,
                                 std::optional<uint64_t> content_length) = 0;
  virtual Task<Status> WriteBody(std::span<const uint8_t> bytes) = 0;
  virtual Task<Status> Finish() = 0;
  // Head + whole body + finish, for small responses.
  Task<Status> Send(int status, const Headers& headers, std::string_view body);
  virtual bool head_written() const = 0;
  // Gives up on the response: the connection is closed without completing
  // it, so the client sees a truncated response rather than wrong bytes.
  virtual void Abort() = 0;
};

using Handler = std::function<Task<void>(Request&, BodyReader&, ResponseWriter&)>;

// N io_contexts, each run by its own thread.
class IoPool {
 public:
  explicit IoPool(int thread_count);
  ~IoPool();  // stops and joins
  boost::asio::io_context& context(size_t index) { return *contexts_[index % contexts_.size()]; }
  boost::asio::io_context& next_context();  // round-robin
  size_t size() const { return contexts_.size(); }
  void Stop();
  void Join();

 private:
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<std::thread> threads_;
  std::vector<std::shared_ptr<void>> work_guards_;
  std::atomic<size_t> next_{0};
};

struct ServerOptions {
  std::string bind_address = "127.0.0.1";
  uint16_t port = 0;  // 0 = pick a free port
  std::chrono::seconds idle_timeout{60};   // keep-alive idle and body stall limit
  uint64_t max_header_bytes = 64 * 1024;
};

// Destroy the server before its IoPool.
class HttpServer {
 public:
  // Binds and starts accepting; connections are spread over `pool`.
  static Result<std::unique_ptr<HttpServer>> Start(IoPool& pool, const ServerOptions& options,
                                                   Handler handler);
  virtual ~HttpServer() = default;
  virtual uint16_t port() const = 0;
  // Stops accepting and closes idle connections; requests in flight finish.
  virtual void Stop() = 0;
};

struct ResponseHead {
  int status = 0;
  Headers headers;
  std::optional<uint64_t> content_length;
};

// One client connection (keep-alive), bound to the executor it was made on.
// Use from one coroutine at a time, except that one coroutine may read the
// response while another writes the request body (full duplex).
//
// Early answers: a server may respond before it has read the whole request
// body (e.g. an error). It then either drains a small remainder or stops
// reading and closes; in the latter case WriteBody fails (kUnavailable),
// and ReadResponseHead afterwards still returns the answer if it arrived. To
// stop sending as soon as the answer comes, read the response head in a
// second coroutine while writing (see ParallelAll).
class ClientConnection {
 public:
  virtual ~ClientConnection() = default;
  // Request head; with `content_length` exactly that many body bytes follow,
  // without it the body is sent chunked (use content_length 0 for no body).
  virtual Task<Status> WriteRequestHead(std::string_view method, std::string_view target,
                                        const Headers& headers,
                                        std::optional<uint64_t> content_length) = 0;
  virtual Task<Status> WriteBody(std::span<const uint8_t> bytes) = 0;
  virtual Task<Status> FinishRequest() = 0;
  virtual Task<Result<ResponseHead>> ReadResponseHead() = 0;
  // Reads response body bytes; 0 = complete. kUnavailable if the peer closed
  // before the body was complete.
  virtual Task<Result<size_t>> ReadBody(std::span<uint8_t> buffer) = 0;
  // Whether the connection can carry another request (response fully read,
  // no "Connection: close").
  virtual bool reusable() const = 0;
  // Closes the socket now (aborts a request in flight).
  virtual void Close() = 0;
  // True if this connection came from a ConnectionPool's idle list rather
  // than a fresh connect. The peer may have closed it while it was idle, so a
  // failure before any response byte arrived is worth one retry on a fresh
  // connection.
  bool reused() const { return reused_; }

 private:
  friend class ConnectionPool;
  bool reused_ = false;
};

// Connects to "host:port". kUnavailable with the reason on failure.
Task<Result<std::unique_ptr<ClientConnection>>> Connect(std::string endpoint,
                                                        std::chrono::milliseconds timeout);

// Keeps idle keep-alive connections per endpoint for reuse. Thread-safe.
// A connection is handed out again only on the io_context it was made on.
// Destroy the pool before the io_contexts of the connections it holds.
class ConnectionPool {
 public:
  explicit ConnectionPool(std::chrono::milliseconds connect_timeout,
                          size_t max_idle_per_endpoint = 16);
  ~ConnectionPool();
  // An idle connection to `endpoint` from the pool (on the calling
  // coroutine's executor), or a new one.
  Task<Result<std::unique_ptr<ClientConnection>>> Acquire(const std::string& endpoint);
  // Returns a connection for reuse if it is reusable(); otherwise drops it.
  void Release(const std::string& endpoint, std::unique_ptr<ClientConnection> connection);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct SimpleResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

// A whole request/response with small bodies, e.g. heartbeats. Uses `pool`
// when given, retrying once on a fresh connection if a reused one fails
// before any response arrived (so pass no pool for a request that must not
// be sent twice). Fails with kUnavailable on connection errors or timeout
// (`timeout` bounds the whole exchange, however long), kTooLarge if the
// response body exceeds 16 MiB.
Task<Result<SimpleResponse>> Fetch(ConnectionPool* pool, const std::string& endpoint,
                                   std::string_view method, std::string_view target,
                                   const Headers& headers, std::string_view body,
                                   std::chrono::milliseconds timeout);

// Runs all `tasks` concurrently on the calling coroutine's executor (which
// must be single-threaded, as IoPool contexts are) and returns their results
// in order once every one has finished. A task that throws yields kInternal.
Task<std::vector<Status>> ParallelAll(std::vector<Task<Status>> tasks);

// Runs `fn` on `pool` and resumes the caller on its own executor with the
// result. For blocking calls (fsync, SQLite) that must not stall I/O threads.
template <typename Fn>
auto RunBlocking(boost::asio::thread_pool& pool, Fn fn) -> Task<decltype(fn())> {
  using T = decltype(fn());
  if constexpr (std::is_void_v<T>) {
    co_await boost::asio::co_spawn(
        pool.get_executor(), [&fn]() -> Task<void> { fn(); co_return; },
        boost::asio::use_awaitable);
  } else {
    // co_spawn builds a T() on its exception path, and Result<T> has no
    // default constructor, so the value travels in an optional.
    std::optional<T> result = co_await boost::asio::co_spawn(
        pool.get_executor(), [&fn]() -> Task<std::optional<T>> { co_return std::optional<T>(fn()); },
        boost::asio::use_awaitable);
    co_return std::move(*result);
  }
}

// Sleeps on the calling coroutine's executor.
Task<void> SleepFor(std::chrono::milliseconds duration);

// Lets coroutines sleep until something changes instead of polling often:
// a background service notes generation(), looks at the state, and waits
// with WaitAfter(); any thread's Notify() after that wakes it at once. The
// timeout is a fallback for changes nobody announces (time passing).
// Waiters must run on single-threaded executors (IoPool's contexts are).
class ChangeSignal {
 public:
  ChangeSignal();
  ~ChangeSignal();
  ChangeSignal(const ChangeSignal&) = delete;
  ChangeSignal& operator=(const ChangeSignal&) = delete;

  uint64_t generation() const;
  // Wakes every waiter; thread-safe.
  void Notify();
  // Returns once generation() differs from `seen`, or after `timeout`.
  Task<void> WaitAfter(uint64_t seen, std::chrono::milliseconds timeout);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace holdfast::net
