// HttpServer: an acceptor on pool context 0 and one coroutine per connection
// on the context it was handed to. Per request: read the head, call the
// handler with a BodyReader/ResponseWriter bound to this connection, then
// decide whether the connection can carry another request.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include <cctype>
#include <cstdio>
#include <future>
#include <mutex>
#include <unordered_map>

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
// A request body the handler left unread is drained (to keep the connection)
// only if at most this much is left; otherwise the connection is closed.
constexpr uint64_t kMaxDrainBytes = 8 << 20;
constexpr std::chrono::seconds kMaxDrainTime{10};
// After the last response on a connection we stop sending and discard what
// the client still sends for a while before closing: closing a socket with
// unread input sends a RST, which can destroy the response in the client's
// receive buffer before it has read it.
constexpr std::chrono::seconds kLingerTime{2};
constexpr size_t kScratchBytes = 64 * 1024;

std::string_view View(beast::string_view s) { return {s.data(), s.size()}; }

Error Unavailable(std::string_view what, const beast::error_code& ec) {
  return MakeError(Errc::kUnavailable, std::string(what) + ": " + ec.message());
}

class ServerState;

// Everything about one request/response on a connection. Lives in the
// connection coroutine's frame for the duration of the exchange. Beast
// parses the head; the body is read past it (net/body_stream.h).
struct Exchange {
  http::request_parser<http::buffer_body> parser;
  BodyStream body;
  bool head_request = false;
  bool request_keep_alive = false;
  unsigned request_version = 11;
  bool expect_continue = false;
  bool continue_handled = false;  // sent, or no longer appropriate
  bool body_failed = false;
  uint64_t body_bytes_read = 0;
  std::optional<Clock::time_point> read_deadline;  // while draining

  std::optional<http::response<http::buffer_body>> response;
  std::optional<http::response_serializer<http::buffer_body>> serializer;
  bool head_written = false;
  bool response_has_body = false;
  std::optional<uint64_t> response_length;
  uint64_t response_bytes_written = 0;
  bool response_complete = false;
  bool response_failed = false;  // write error, abort, or handler bug
  bool close_after = false;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<ServerState> server, tcp::socket socket);
  ~Connection();
  static Task<void> Serve(std::shared_ptr<Connection> self);
  // Runs on the connection's executor when the server stops.
  void OnServerStop();
  Executor executor() { return stream_.get_executor(); }

 private:
  friend class ConnectionBodyReader;
  friend class ConnectionResponseWriter;
  enum class Ending { kKeepAlive, kLinger, kClose };

  Task<Ending> ServeOne();
  Task<Ending> AfterHandler(Exchange& exchange, BodyReader& reader, ResponseWriter& writer);
  Task<void> LingeringClose();
  Task<void> WriteRaw(std::string_view bytes);
  Request MakeRequest(const Exchange& exchange);

  std::shared_ptr<ServerState> server_;
  uint64_t id_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bool idle_ = false;
  bool stopping_ = false;
};

class ServerState : public std::enable_shared_from_this<ServerState> {
 public:
  ServerState(IoPool& pool, ServerOptions options, Handler handler)
      : pool(pool), options(std::move(options)), handler(std::move(handler)),
        acceptor(pool.context(0)) {}

  uint64_t Register(const std::shared_ptr<Connection>& connection) {
    std::lock_guard lock(mu_);
    const uint64_t id = next_id_++;
    connections_[id] = connection;
    if (stopped_) asio::post(connection->executor(), [connection] { connection->OnServerStop(); });
    return id;
  }
  void Unregister(uint64_t id) {
    std::lock_guard lock(mu_);
    connections_.erase(id);
  }
  bool stopped() {
    std::lock_guard lock(mu_);
    return stopped_;
  }
  void Stop();

  IoPool& pool;
  const ServerOptions options;
  const Handler handler;
  tcp::acceptor acceptor;

 private:
  std::mutex mu_;
  bool stopped_ = false;
  uint64_t next_id_ = 1;  // 0: not registered
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> connections_;
};

void ServerState::Stop() {
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [id, weak] : connections_) {
      if (auto connection = weak.lock()) live.push_back(std::move(connection));
    }
  }
  for (auto& connection : live) {
    asio::post(connection->executor(), [connection] { connection->OnServerStop(); });
  }
  // The acceptor belongs to context 0; close it there. Wait for that unless
  // we are on that thread, so that after Stop() no new connection is taken.
  asio::io_context& context = pool.context(0);
  auto self = shared_from_this();
  if (context.get_executor().running_in_this_thread()) {
    beast::error_code ec;
    acceptor.close(ec);
    return;
  }
  auto closed = std::make_shared<std::promise<void>>();
  std::future<void> done = closed->get_future();
  asio::post(context, [self, closed] {
    beast::error_code ec;
    self->acceptor.close(ec);
    closed->set_value();
  });
  while (done.wait_for(std::chrono::milliseconds(10)) != std::future_status::ready) {
    if (context.stopped()) return;  // the pool is gone; nobody accepts anyway
  }
}

class ConnectionBodyReader final : public BodyReader {
 public:
  ConnectionBodyReader(Connection& connection, Exchange& exchange)
      : connection_(connection), exchange_(exchange) {}

  Task<Result<size_t>> Read(std::span<uint8_t> buffer) override {
    Exchange& ex = exchange_;
    if (ex.body_failed) co_return MakeError(Errc::kUnavailable, "request body: an earlier read failed");
    if (ex.body.done()) co_return size_t{0};
    if (buffer.empty()) co_return MakeError(Errc::kInvalidArgument, "Read into an empty buffer");
    if (ex.expect_continue && !ex.continue_handled) {
      ex.continue_handled = true;
      // After a final response head, a 100 would be a protocol error.
      if (!ex.head_written) co_await connection_.WriteRaw("HTTP/1.1 100 Continue\r\n\r\n");
    }
    // The idle timeout bounds each read: a stalled client, not a slow one.
    Clock::time_point expiry = Clock::now() + connection_.server_->options.idle_timeout;
    if (ex.read_deadline && *ex.read_deadline < expiry) expiry = *ex.read_deadline;
    Result<size_t> got = co_await ex.body.Read(connection_.stream_, connection_.buffer_, buffer, expiry);
    if (!got) {
      ex.body_failed = true;
      co_return MakeError(Errc::kUnavailable, "reading request body: " + got.error().message);
    }
    ex.body_bytes_read += *got;
    co_return *got;
  }

  uint64_t bytes_read() const override { return exchange_.body_bytes_read; }

 private:
  Connection& connection_;
  Exchange& exchange_;
};

class ConnectionResponseWriter final : public ResponseWriter {
 public:
  ConnectionResponseWriter(Connection& connection, Exchange& exchange)
      : connection_(connection), exchange_(exchange) {}

  Task<Status> WriteHead(int status, const Headers& headers,
                         std::optional<uint64_t> content_length) override;
  Task<Status> WriteBody(std::span<const uint8_t> bytes) override;
  Task<Status> Finish() override;
  bool head_written() const override { return exchange_.head_written; }
  void Abort() override {
    exchange_.response_failed = true;
    connection_.stream_.close();
  }

 private:
  // Whether the request body will be abandoned (connection closed) if the
  // handler stops reading it now.
  bool BodyWouldBeAbandoned() const;
  Task<Status> WriteSerializer(std::string_view what);

  Connection& connection_;
  Exchange& exchange_;
};

bool ConnectionResponseWriter::BodyWouldBeAbandoned() const {
  const Exchange& ex = exchange_;
  if (ex.body.done()) return false;
  if (ex.expect_continue && !ex.continue_handled) return true;  // client waits for a 100
  const auto remaining = ex.body.known_remaining();
  return !remaining || *remaining > kMaxDrainBytes;
}

Task<Status> ConnectionResponseWriter::WriteHead(int status, const Headers& headers,
                                                 std::optional<uint64_t> content_length) {
  Exchange& ex = exchange_;
  if (ex.head_written) co_return MakeError(Errc::kInternal, "response head already written");
  if (status < 100 || status > 999) co_return MakeError(Errc::kInternal, "bad status code");
  // A client that sent "Expect: 100-continue" with an empty body gets its
  // 100 before the final answer even though there is nothing to invite:
  // botocore otherwise keeps this final status line for the connection's
  // next Expect request and misreads that response (then waits 60 s for a
  // body). Non-empty bodies never invited are handled by closing the
  // connection (BodyWouldBeAbandoned).
  if (ex.expect_continue && !ex.continue_handled && ex.body.done() && status >= 200) {
    co_await connection_.WriteRaw("HTTP/1.1 100 Continue\r\n\r\n");
    ex.continue_handled = true;
  }
  auto& res = ex.response.emplace();
  res.version(11);
  res.result(static_cast<unsigned>(status));
  for (const auto& [name, value] : headers.all()) {
    // Framing is ours to decide.
    if (EqualsIgnoreCase(name, "Content-Length") || EqualsIgnoreCase(name, "Transfer-Encoding")) continue;
    res.insert(name, value);
  }
  if (!headers.Has("Server")) res.set(http::field::server, "Holdfast");

  const bool status_allows_body = status >= 200 && status != 204 && status != 304;
  ex.response_has_body = status_allows_body && !ex.head_request;
  if (content_length && status_allows_body) {
    res.content_length(*content_length);  // also for HEAD: it announces the size
    ex.response_length = content_length;
  } else if (ex.response_has_body && ex.request_version >= 11) {
    res.chunked(true);
  }
  // An HTTP/1.0 client without a length gets a close-delimited body.
  const bool close_delimited = ex.response_has_body && !content_length && ex.request_version < 11;
  const bool keep_alive = ex.request_keep_alive && res.keep_alive() && !connection_.stopping_ &&
                          !close_delimited && !BodyWouldBeAbandoned();
  res.keep_alive(keep_alive);
  ex.close_after = !keep_alive;
  if (ex.expect_continue) ex.continue_handled = true;

  ex.serializer.emplace(res);
  ex.head_written = true;
  connection_.stream_.expires_after(connection_.server_->options.idle_timeout);
  auto [ec, unused] = co_await http::async_write_header(connection_.stream_, *ex.serializer, kNoThrow);
  if (ec) {
    ex.response_failed = true;
    co_return Unavailable("writing response head", ec);
  }
  if (!ex.response_has_body || (ex.response_length && *ex.response_length == 0)) {
    ex.response_complete = true;
  }
  co_return Status::Ok();
}

Task<Status> ConnectionResponseWriter::WriteSerializer(std::string_view what) {
  Exchange& ex = exchange_;
  connection_.stream_.expires_after(connection_.server_->options.idle_timeout);
  auto [ec, unused] = co_await http::async_write(connection_.stream_, *ex.serializer, kNoThrow);
  ex.response->body().data = nullptr;
  ex.response->body().size = 0;
  if (ec == http::error::need_buffer) ec = {};
  if (ec) {
    ex.response_failed = true;
    co_return Unavailable(what, ec);
  }
  co_return Status::Ok();
}

Task<Status> ConnectionResponseWriter::WriteBody(std::span<const uint8_t> bytes) {
  Exchange& ex = exchange_;
  if (!ex.head_written) co_return MakeError(Errc::kInternal, "WriteBody before WriteHead");
  if (ex.response_failed) co_return MakeError(Errc::kUnavailable, "response already failed");
  if (!ex.response_has_body) co_return Status::Ok();  // e.g. HEAD: the body is not sent
  if (ex.response_complete) co_return MakeError(Errc::kInternal, "WriteBody after the response was complete");
  if (bytes.empty()) co_return Status::Ok();
  if (ex.response_length && ex.response_bytes_written + bytes.size() > *ex.response_length) {
    co_return MakeError(Errc::kInternal, "response body longer than its Content-Length");
  }
  auto& body = ex.response->body();
  body.data = const_cast<uint8_t*>(bytes.data());  // buffer_body is read-only when serializing
  body.size = bytes.size();
  body.more = true;
  Status status = co_await WriteSerializer("writing response body");
  if (!status.ok()) co_return status;
  ex.response_bytes_written += bytes.size();
  if (ex.response_length && ex.response_bytes_written == *ex.response_length) {
    ex.response_complete = true;
  }
  co_return Status::Ok();
}

Task<Status> ConnectionResponseWriter::Finish() {
  Exchange& ex = exchange_;
  if (!ex.head_written) co_return MakeError(Errc::kInternal, "Finish before WriteHead");
  if (ex.response_failed) co_return MakeError(Errc::kUnavailable, "response already failed");
  if (ex.response_complete) co_return Status::Ok();
  if (ex.response_length) {
    // The client would wait for bytes that never come; close instead.
    ex.response_failed = true;
    co_return MakeError(Errc::kInternal, "response body shorter than its Content-Length");
  }
  auto& body = ex.response->body();
  body.data = nullptr;
  body.size = 0;
  body.more = false;
  Status status = co_await WriteSerializer("finishing response");  // last chunk
  if (!status.ok()) co_return status;
  ex.response_complete = true;
  co_return Status::Ok();
}

Connection::Connection(std::shared_ptr<ServerState> server, tcp::socket socket)
    : server_(std::move(server)), id_(0), stream_(std::move(socket)) {
  // The parser reads through this buffer; its capacity is the largest socket
  // read (it starts at 512 bytes otherwise).
  buffer_.reserve(kScratchBytes);
}

Connection::~Connection() {
  if (id_ != 0) server_->Unregister(id_);
}

void Connection::OnServerStop() {
  stopping_ = true;
  if (idle_) stream_.close();
}

Task<void> Connection::WriteRaw(std::string_view bytes) {
  stream_.expires_after(server_->options.idle_timeout);
  // Errors surface on the next read or write of this connection.
  (void)co_await asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()), kNoThrow);
}

Request Connection::MakeRequest(const Exchange& exchange) {
  const auto& message = exchange.parser.get();
  Request request;
  request.method = std::string(View(message.method_string()));
  request.target = std::string(View(message.target()));
  const size_t question = request.target.find('?');
  request.path = request.target.substr(0, question);
  if (question != std::string::npos) request.query = request.target.substr(question + 1);
  for (const auto& field : message) {
    request.headers.Add(std::string(View(field.name_string())), std::string(View(field.value())));
  }
  if (auto length = exchange.parser.content_length()) request.content_length = *length;
  request.chunked = exchange.parser.chunked();
  beast::error_code ec;
  const auto remote = stream_.socket().remote_endpoint(ec);
  if (!ec) request.remote_address = remote.address().to_string();
  return request;
}

Task<void> Connection::Serve(std::shared_ptr<Connection> self) {
  self->id_ = self->server_->Register(self);
  Ending ending = Ending::kKeepAlive;
  while (ending == Ending::kKeepAlive) {
    ending = co_await self->ServeOne();
  }
  if (ending == Ending::kLinger) co_await self->LingeringClose();
  self->stream_.close();
}

Task<Connection::Ending> Connection::ServeOne() {
  Exchange exchange;
  exchange.parser.body_limit(boost::none);  // bodies may be many GiB
  exchange.parser.header_limit(static_cast<uint32_t>(server_->options.max_header_bytes));
  if (stopping_) co_return Ending::kClose;
  idle_ = true;
  stream_.expires_after(server_->options.idle_timeout);
  auto [ec, unused] = co_await http::async_read_header(stream_, buffer_, exchange.parser, kNoThrow);
  idle_ = false;
  if (ec) {
    if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      const bool too_large = ec == http::error::header_limit;
      co_await WriteRaw(too_large ? "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                    "Content-Length: 0\r\nConnection: close\r\n\r\n"
                                  : "HTTP/1.1 400 Bad Request\r\n"
                                    "Content-Length: 0\r\nConnection: close\r\n\r\n");
      co_return Ending::kLinger;
    }
    co_return Ending::kClose;  // closed, timed out, or stopped
  }

  const auto& message = exchange.parser.get();
  if (exchange.parser.is_done()) {
    exchange.body.Start(BodyStream::Framing::kEmpty);
  } else if (exchange.parser.chunked()) {
    exchange.body.Start(BodyStream::Framing::kChunked);
  } else if (auto length = exchange.parser.content_length()) {
    exchange.body.Start(BodyStream::Framing::kLength, *length);
  } else {
    exchange.body.Start(BodyStream::Framing::kEmpty);  // a request without framing has no body
  }
  exchange.head_request = message.method() == http::verb::head;
  exchange.request_keep_alive = exchange.parser.keep_alive();
  exchange.request_version = message.version();
  auto expect = message.find(http::field::expect);
  exchange.expect_continue = message.version() >= 11 && expect != message.end() &&
                             EqualsIgnoreCase(View(expect->value()), "100-continue");

  Request request = MakeRequest(exchange);
  ConnectionBodyReader reader(*this, exchange);
  ConnectionResponseWriter writer(*this, exchange);
  try {
    co_await server_->handler(request, reader, writer);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "holdfast net: handler for %s %s threw: %s\n", request.method.c_str(),
                 request.target.c_str(), e.what());
  } catch (...) {
    std::fprintf(stderr, "holdfast net: handler for %s %s threw\n", request.method.c_str(),
                 request.target.c_str());
  }
  co_return co_await AfterHandler(exchange, reader, writer);
}

Task<Connection::Ending> Connection::AfterHandler(Exchange& exchange, BodyReader& reader,
                                                  ResponseWriter& writer) {
  if (!stream_.socket().is_open()) co_return Ending::kClose;  // aborted
  if (!exchange.head_written) {
    // A handler that returns without a response is a bug; the client
    // still deserves an answer.
    Status sent = co_await writer.Send(500, Headers(), "");
    if (!sent.ok()) co_return Ending::kClose;
  }
  if (exchange.response_failed || !exchange.response_complete) {
    co_return Ending::kClose;  // the client sees a truncated response
  }
  if (exchange.close_after) co_return Ending::kLinger;
  if (!exchange.body.done()) {
    // The handler answered without reading the whole body; drain it (the
    // response head already promised keep-alive only if it is small).
    exchange.read_deadline = Clock::now() + kMaxDrainTime;
    std::vector<uint8_t> scratch(kScratchBytes);
    uint64_t drained = 0;
    for (;;) {
      Result<size_t> n = co_await reader.Read(scratch);
      if (!n.ok()) co_return Ending::kClose;
      if (*n == 0) break;
      drained += *n;
      if (drained > kMaxDrainBytes) co_return Ending::kLinger;
    }
  }
  co_return Ending::kKeepAlive;
}

Task<void> Connection::LingeringClose() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  const auto deadline = Clock::now() + kLingerTime;
  std::vector<char> scratch(kScratchBytes);
  for (;;) {
    stream_.expires_at(deadline);
    auto [read_ec, n] = co_await stream_.async_read_some(asio::buffer(scratch), kNoThrow);
    if (read_ec) break;  // EOF (the client closed too), timeout, or reset
  }
}

Task<void> AcceptLoop(std::shared_ptr<ServerState> state) {
  for (;;) {
    asio::io_context& context = state->pool.next_context();
    auto [ec, socket] = co_await state->acceptor.async_accept(context, kNoThrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !state->acceptor.is_open() || state->stopped()) {
        co_return;
      }
      // E.g. out of file descriptors: back off instead of spinning.
      asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
      (void)co_await pause.async_wait(kNoThrow);
      continue;
    }
    beast::error_code option_ec;
    socket.set_option(tcp::no_delay(true), option_ec);
    auto connection = std::make_shared<Connection>(state, std::move(socket));
    asio::co_spawn(context, Connection::Serve(std::move(connection)), [](std::exception_ptr error) {
      if (!error) return;
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "holdfast net: connection coroutine threw: %s\n", e.what());
      } catch (...) {
        std::fprintf(stderr, "holdfast net: connection coroutine threw\n");
      }
    });
  }
}

class BeastHttpServer final : public HttpServer {
 public:
  BeastHttpServer(std::shared_ptr<ServerState> state, uint16_t port)
      : state_(std::move(state)), port_(port) {}
  ~BeastHttpServer() override { Stop(); }
  uint16_t port() const override { return port_; }
  void Stop() override { state_->Stop(); }

 private:
  std::shared_ptr<ServerState> state_;
  uint16_t port_;
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Start(IoPool& pool, const ServerOptions& options,
                                                      Handler handler) {
  beast::error_code ec;
  const auto address = asio::ip::make_address(options.bind_address, ec);
  if (ec) return MakeError(Errc::kInvalidArgument, "bad bind address: " + options.bind_address);
  auto state = std::make_shared<ServerState>(pool, options, std::move(handler));
  const tcp::endpoint endpoint(address, options.port);
  const std::string where = options.bind_address + ":" + std::to_string(options.port);
  auto& acceptor = state->acceptor;
  if (acceptor.open(endpoint.protocol(), ec); ec) return Unavailable("open " + where, ec);
  if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec) {
    return Unavailable("SO_REUSEADDR " + where, ec);
  }
  if (acceptor.bind(endpoint, ec); ec) return Unavailable("bind " + where, ec);
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) {
    return Unavailable("listen " + where, ec);
  }
  const uint16_t port = acceptor.local_endpoint(ec).port();
  if (ec) return Unavailable("local_endpoint " + where, ec);
  asio::co_spawn(pool.context(0), AcceptLoop(state), asio::detached);
  return std::unique_ptr<HttpServer>(std::make_unique<BeastHttpServer>(std::move(state), port));
}

}  // namespace holdfast::net
