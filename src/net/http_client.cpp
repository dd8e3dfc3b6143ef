// HTTP/1.1 client: one keep-alive connection (Beast serializer with
// buffer_body so request bodies stream; Beast parses the response head and
// net/body_stream.h reads the body straight into the caller's buffer), a pool of idle connections keyed by
// endpoint and io_context, and Fetch for small whole exchanges.
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include <cctype>
#include <cerrno>
#include <deque>
#include <map>
#include <mutex>

#include "net/body_stream.h"
#include "net/http.h"

namespace holdfast::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::milliseconds kDefaultOperationTimeout{30'000};
constexpr size_t kReadBufferBytes = 64 * 1024;
constexpr uint32_t kMaxResponseHeaderBytes = 64 * 1024;
// Idle pooled connections older than this are dropped rather than reused;
// well under the server's default keep-alive idle timeout (60 s).
constexpr std::chrono::seconds kMaxPooledIdle{30};
constexpr size_t kFetchBodyLimitBytes = 16 << 20;

std::string_view View(beast::string_view s) { return {s.data(), s.size()}; }

// "host:port" or "[v6addr]:port".
bool SplitHostPort(std::string_view endpoint, std::string* host, std::string* port) {
  const size_t colon = endpoint.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == endpoint.size()) return false;
  std::string_view h = endpoint.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  *host = std::string(h);
  *port = std::string(endpoint.substr(colon + 1));
  return true;
}

class BeastClientConnection final : public ClientConnection {
 public:
  BeastClientConnection(beast::tcp_stream stream, std::string endpoint)
      : stream_(std::move(stream)), endpoint_(std::move(endpoint)) {
    // The parser reads through this buffer; its capacity is the largest
    // socket read (it starts at 512 bytes otherwise).
    buffer_.reserve(kReadBufferBytes);
  }

  Task<Status> WriteRequestHead(std::string_view method, std::string_view target,
                                const Headers& headers,
                                std::optional<uint64_t> content_length) override;
  Task<Status> WriteBody(std::span<const uint8_t> bytes) override;
  Task<Status> FinishRequest() override;
  Task<Result<ResponseHead>> ReadResponseHead() override;
  Task<Result<size_t>> ReadBody(std::span<uint8_t> buffer) override;

  bool reusable() const override {
    return !failed_ && stream_.socket().is_open() && request_state_ == RequestState::kDone &&
           response_done_ && parser_ && parser_->keep_alive();
  }
  void Close() override {
    failed_ = true;
    stream_.close();
  }

  // Bounds every following operation instead of the default per-operation
  // timeout (Fetch's overall timeout: an answer that takes minutes, such as
  // a node verifying or copying a large shard, is waited for that long).
  void set_deadline(std::optional<Clock::time_point> deadline) { deadline_ = deadline; }
  const void* context_key() {
    return &asio::query(stream_.get_executor(), asio::execution::context);
  }
  // For the pool: still open, and the peer has sent nothing (not even EOF)
  // since the last response.
  bool IdleAndHealthy() {
    if (!reusable() || buffer_.size() != 0) return false;
    char byte;
    const ssize_t n = ::recv(stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

 private:
  enum class RequestState { kIdle, kBody, kDone };

  void ArmTimer() { stream_.expires_at(OperationDeadline()); }
  Error Fail(std::string_view what, const beast::error_code& ec) {
    failed_ = true;
    return MakeError(Errc::kUnavailable, endpoint_ + ": " + std::string(what) + ": " + ec.message());
  }
  Task<Status> WriteSerializer(std::string_view what);
  Clock::time_point OperationDeadline() const {
    if (deadline_) return *deadline_;
    return Clock::now() + kDefaultOperationTimeout;
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string endpoint_;
  std::optional<Clock::time_point> deadline_;
  bool failed_ = false;  // no further exchange on this connection

  std::optional<http::request<http::buffer_body>> request_;
  std::optional<http::request_serializer<http::buffer_body>> serializer_;
  RequestState request_state_ = RequestState::kIdle;
  std::optional<uint64_t> request_length_;
  uint64_t request_bytes_written_ = 0;
  bool head_request_ = false;

  std::optional<http::response_parser<http::buffer_body>> parser_;  // the head
  BodyStream body_;
  bool response_started_ = false;
  bool response_head_read_ = false;
  bool response_done_ = false;
};

Task<Status> BeastClientConnection::WriteSerializer(std::string_view what) {
  ArmTimer();
  auto [ec, unused] = co_await http::async_write(stream_, *serializer_, kNoThrow);
  request_->body().data = nullptr;
  request_->body().size = 0;
  if (ec == http::error::need_buffer) ec = {};
  if (ec) co_return Fail(what, ec);
  co_return Status::Ok();
}

Task<Status> BeastClientConnection::WriteRequestHead(std::string_view method,
                                                     std::string_view target,
                                                     const Headers& headers,
                                                     std::optional<uint64_t> content_length) {
  if (failed_ || !stream_.socket().is_open()) {
    co_return MakeError(Errc::kUnavailable, endpoint_ + ": connection is closed");
  }
  const bool fresh = request_state_ == RequestState::kIdle && !response_started_;
  const bool previous_done = request_state_ == RequestState::kDone && response_done_;
  if (!fresh && !previous_done) {
    co_return MakeError(Errc::kInternal, "previous exchange on this connection is unfinished");
  }
  serializer_.reset();
  parser_.reset();
  response_started_ = response_head_read_ = response_done_ = false;
  request_bytes_written_ = 0;
  request_length_ = content_length;

  auto& req = request_.emplace();
  req.version(11);
  req.method_string(beast::string_view(method.data(), method.size()));
  req.target(beast::string_view(target.data(), target.size()));
  for (const auto& [name, value] : headers.all()) {
    if (EqualsIgnoreCase(name, "Content-Length") || EqualsIgnoreCase(name, "Transfer-Encoding")) continue;
    req.insert(name, value);
  }
  if (!headers.Has("Host")) req.set(http::field::host, endpoint_);
  head_request_ = method == "HEAD";
  if (content_length) {
    if (*content_length > 0 || (method != "GET" && method != "HEAD")) {
      req.content_length(*content_length);
    }
  } else {
    req.chunked(true);
  }

  serializer_.emplace(req);
  request_state_ = RequestState::kBody;
  ArmTimer();
  auto [ec, unused] = co_await http::async_write_header(stream_, *serializer_, kNoThrow);
  if (ec) co_return Fail("writing request head", ec);
  if (content_length && *content_length == 0) request_state_ = RequestState::kDone;
  co_return Status::Ok();
}

Task<Status> BeastClientConnection::WriteBody(std::span<const uint8_t> bytes) {
  if (request_state_ != RequestState::kBody) {
    co_return MakeError(Errc::kInternal, "WriteBody outside a request body");
  }
  if (failed_) co_return MakeError(Errc::kUnavailable, endpoint_ + ": connection failed");
  if (bytes.empty()) co_return Status::Ok();
  if (request_length_ && request_bytes_written_ + bytes.size() > *request_length_) {
    co_return MakeError(Errc::kInvalidArgument, "request body longer than its Content-Length");
  }
  auto& body = request_->body();
  body.data = const_cast<uint8_t*>(bytes.data());  // only read while serializing
  body.size = bytes.size();
  body.more = true;
  Status status = co_await WriteSerializer("writing request body");
  if (!status.ok()) co_return status;
  request_bytes_written_ += bytes.size();
  if (request_length_ && request_bytes_written_ == *request_length_) {
    request_state_ = RequestState::kDone;
  }
  co_return Status::Ok();
}

Task<Status> BeastClientConnection::FinishRequest() {
  if (request_state_ == RequestState::kDone) co_return Status::Ok();
  if (request_state_ != RequestState::kBody) {
    co_return MakeError(Errc::kInternal, "FinishRequest before WriteRequestHead");
  }
  if (failed_) co_return MakeError(Errc::kUnavailable, endpoint_ + ": connection failed");
  if (request_length_) {
    failed_ = true;  // the peer still waits for the missing bytes
    co_return MakeError(Errc::kInvalidArgument, "request body shorter than its Content-Length");
  }
  auto& body = request_->body();
  body.data = nullptr;
  body.size = 0;
  body.more = false;
  Status status = co_await WriteSerializer("finishing request body");  // last chunk
  if (!status.ok()) co_return status;
  request_state_ = RequestState::kDone;
  co_return Status::Ok();
}

Task<Result<ResponseHead>> BeastClientConnection::ReadResponseHead() {
  if (response_head_read_) co_return MakeError(Errc::kInternal, "response head already read");
  if (request_state_ == RequestState::kIdle) {
    co_return MakeError(Errc::kInternal, "ReadResponseHead before WriteRequestHead");
  }
  if (!stream_.socket().is_open()) {
    co_return MakeError(Errc::kUnavailable, endpoint_ + ": connection is closed");
  }
  response_started_ = true;
  for (;;) {
    auto& parser = parser_.emplace();
    parser.body_limit(boost::none);
    parser.header_limit(kMaxResponseHeaderBytes);
    if (head_request_) parser.skip(true);
    ArmTimer();
    auto [ec, unused] = co_await http::async_read_header(stream_, buffer_, parser, kNoThrow);
    if (ec) co_return Fail("reading response head", ec);
    const unsigned status = parser.get().result_int();
    if (status >= 200 || status == 101) break;
    // An interim response (100 Continue): the real one follows.
  }
  response_head_read_ = true;
  if (parser_->is_done()) {
    response_done_ = true;
    body_.Start(BodyStream::Framing::kEmpty);
  } else if (parser_->chunked()) {
    body_.Start(BodyStream::Framing::kChunked);
  } else if (auto length = parser_->content_length()) {
    body_.Start(BodyStream::Framing::kLength, *length);
  } else {
    body_.Start(BodyStream::Framing::kUntilClose);
  }

  ResponseHead head;
  head.status = static_cast<int>(parser_->get().result_int());
  for (const auto& field : parser_->get()) {
    head.headers.Add(std::string(View(field.name_string())), std::string(View(field.value())));
  }
  if (auto length = parser_->content_length()) head.content_length = *length;
  co_return head;
}

Task<Result<size_t>> BeastClientConnection::ReadBody(std::span<uint8_t> buffer) {
  if (!response_head_read_) co_return MakeError(Errc::kInternal, "ReadBody before ReadResponseHead");
  if (response_done_) co_return size_t{0};
  if (buffer.empty()) co_return MakeError(Errc::kInvalidArgument, "ReadBody into an empty buffer");
  Result<size_t> got = co_await body_.Read(stream_, buffer_, buffer, OperationDeadline());
  if (!got) {
    failed_ = true;
    co_return MakeError(Errc::kUnavailable, endpoint_ + ": reading response body: " + got.error().message);
  }
  if (body_.done()) response_done_ = true;
  co_return *got;
}

// One request/response with a small body. `*got_head` tells a failure before
// any response from one after (only the former may be retried).
Task<Result<SimpleResponse>> FetchOnce(ClientConnection& connection, std::string_view method,
                                       std::string_view target, const Headers& headers,
                                       std::string_view body, bool* got_head) {
  *got_head = false;
  Status sent = co_await connection.WriteRequestHead(method, target, headers, body.size());
  if (!sent.ok()) co_return sent.error();
  if (!body.empty()) {
    sent = co_await connection.WriteBody(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
  }
  if (sent.ok()) sent = co_await connection.FinishRequest();
  // Even if sending the body failed, the peer may have answered early.
  Result<ResponseHead> head = co_await connection.ReadResponseHead();
  if (!head.ok()) co_return sent.ok() ? head.error() : sent.error();
  *got_head = true;
  if (head->content_length && *head->content_length > kFetchBodyLimitBytes) {
    connection.Close();
    co_return MakeError(Errc::kTooLarge, "response body exceeds the Fetch limit");
  }
  SimpleResponse response;
  response.status = head->status;
  response.headers = std::move(head->headers);
  std::vector<uint8_t> scratch(64 * 1024);
  for (;;) {
    Result<size_t> n = co_await connection.ReadBody(scratch);
    if (!n.ok()) co_return n.error();
    if (*n == 0) break;
    if (response.body.size() + *n > kFetchBodyLimitBytes) {
      connection.Close();
      co_return MakeError(Errc::kTooLarge, "response body exceeds the Fetch limit");
    }
    response.body.append(reinterpret_cast<const char*>(scratch.data()), *n);
  }
  co_return response;
}

}  // namespace

Task<Result<std::unique_ptr<ClientConnection>>> Connect(std::string endpoint,
                                                        std::chrono::milliseconds timeout) {
  auto executor = co_await asio::this_coro::executor;
  const auto deadline = Clock::now() + timeout;
  std::string host;
  std::string port_text;
  if (!SplitHostPort(endpoint, &host, &port_text)) {
    co_return MakeError(Errc::kInvalidArgument, "bad endpoint (want host:port): " + endpoint);
  }
  std::vector<tcp::endpoint> candidates;
  beast::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (!ec) {
    int port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port > 65535) {
        co_return MakeError(Errc::kInvalidArgument, "bad port in endpoint: " + endpoint);
      }
      port = port * 10 + (c - '0');
    }
    if (port > 65535) co_return MakeError(Errc::kInvalidArgument, "bad port in endpoint: " + endpoint);
    candidates.emplace_back(address, static_cast<uint16_t>(port));
  } else {
    // The resolver ignores per-operation cancellation; a timer cancels it.
    // Shared: the timer's handler may run after this frame has moved on.
    auto resolver = std::make_shared<tcp::resolver>(executor);
    asio::steady_timer timer(executor, deadline);
    timer.async_wait([resolver](const beast::error_code& timer_ec) {
      if (!timer_ec) resolver->cancel();
    });
    auto [resolve_ec, results] = co_await resolver->async_resolve(host, port_text, kNoThrow);
    timer.cancel();
    if (resolve_ec) {
      co_return MakeError(Errc::kUnavailable, "resolve " + endpoint + ": " + resolve_ec.message());
    }
    for (const auto& entry : results) candidates.push_back(entry.endpoint());
  }

  beast::tcp_stream stream(executor);
  stream.expires_at(deadline);
  auto [connect_ec, connected] = co_await stream.async_connect(candidates, kNoThrow);
  if (connect_ec) {
    co_return MakeError(Errc::kUnavailable, "connect " + endpoint + ": " + connect_ec.message());
  }
  stream.socket().set_option(tcp::no_delay(true), ec);
  stream.expires_never();
  co_return std::unique_ptr<ClientConnection>(
      std::make_unique<BeastClientConnection>(std::move(stream), std::move(endpoint)));
}

struct ConnectionPool::Impl {
  struct Idle {
    std::unique_ptr<BeastClientConnection> connection;
    Clock::time_point since;
  };
  using Key = std::pair<std::string, const void*>;  // endpoint, io_context

  std::chrono::milliseconds connect_timeout;
  size_t max_idle_per_endpoint;
  std::mutex mu;
  std::map<Key, std::deque<Idle>> idle;

  // Takes the newest idle connection for `key`, or null.
  std::unique_ptr<BeastClientConnection> Take(const Key& key, Clock::time_point* since) {
    std::lock_guard lock(mu);
    auto it = idle.find(key);
    if (it == idle.end()) return nullptr;
    Idle entry = std::move(it->second.back());
    it->second.pop_back();
    if (it->second.empty()) idle.erase(it);
    *since = entry.since;
    return std::move(entry.connection);
  }
};

ConnectionPool::ConnectionPool(std::chrono::milliseconds connect_timeout,
                               size_t max_idle_per_endpoint)
    : impl_(std::make_unique<Impl>()) {
  impl_->connect_timeout = connect_timeout;
  impl_->max_idle_per_endpoint = max_idle_per_endpoint;
}

ConnectionPool::~ConnectionPool() = default;

Task<Result<std::unique_ptr<ClientConnection>>> ConnectionPool::Acquire(
    const std::string& endpoint) {
  auto executor = co_await asio::this_coro::executor;
  const Impl::Key key(endpoint, &asio::query(executor, asio::execution::context));
  for (;;) {
    Clock::time_point since;
    std::unique_ptr<BeastClientConnection> connection = impl_->Take(key, &since);
    if (!connection) break;
    // A connection the peer has closed (or that sat too long) is dropped here
    // rather than failing the caller's first write.
    if (Clock::now() - since > kMaxPooledIdle || !connection->IdleAndHealthy()) continue;
    connection->reused_ = true;
    co_return std::unique_ptr<ClientConnection>(std::move(connection));
  }
  co_return co_await Connect(endpoint, impl_->connect_timeout);
}

void ConnectionPool::Release(const std::string& endpoint,
                             std::unique_ptr<ClientConnection> connection) {
  if (!connection || !connection->reusable()) return;
  auto* beast_connection = dynamic_cast<BeastClientConnection*>(connection.get());
  if (beast_connection == nullptr) return;
  beast_connection->set_deadline(std::nullopt);
  const Impl::Key key(endpoint, beast_connection->context_key());
  connection.release();
  std::unique_ptr<BeastClientConnection> evicted;  // destroyed outside the lock
  std::lock_guard lock(impl_->mu);
  auto& list = impl_->idle[key];
  list.push_back(Impl::Idle{std::unique_ptr<BeastClientConnection>(beast_connection), Clock::now()});
  if (list.size() > impl_->max_idle_per_endpoint) {
    evicted = std::move(list.front().connection);
    list.pop_front();
  }
}

Task<Result<SimpleResponse>> Fetch(ConnectionPool* pool, const std::string& endpoint,
                                   std::string_view method, std::string_view target,
                                   const Headers& headers, std::string_view body,
                                   std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (int attempt = 0;; ++attempt) {
    // The retry connects afresh: another pooled connection may be stale too.
    // (No co_await inside ?: here; GCC 12 miscompiles that.)
    std::unique_ptr<ClientConnection> connection;
    if (pool != nullptr && attempt == 0) {
      auto connected = co_await pool->Acquire(endpoint);
      if (!connected.ok()) co_return connected.error();
      connection = std::move(connected.value());
    } else {
      auto connected = co_await Connect(endpoint, timeout);
      if (!connected.ok()) co_return connected.error();
      connection = std::move(connected.value());
    }
    if (auto* beast_connection = dynamic_cast<BeastClientConnection*>(connection.get())) {
      beast_connection->set_deadline(deadline);
    }
    bool got_head = false;
    Result<SimpleResponse> response =
        co_await FetchOnce(*connection, method, target, headers, body, &got_head);
    if (response.ok()) {
      if (pool != nullptr) pool->Release(endpoint, std::move(connection));
      co_return response;
    }
    // A pooled connection may have been closed by the peer just as we sent.
    const bool retry = attempt == 0 && connection->reused() && !got_head &&
                       response.error().code == Errc::kUnavailable && Clock::now() < deadline;
    if (!retry) co_return response;
  }
}

}  // namespace holdfast::net
