// Server and client over real sockets on 127.0.0.1.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>

#include <future>
#include <stdexcept>
#include <thread>

#include "net/body_stream.h"
#include "net/http.h"
#include "net/test_util.h"

namespace holdfast::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

uint8_t PatternByte(uint64_t offset) { return static_cast<uint8_t>(offset * 131 + offset / 4099); }

void FillPattern(uint64_t offset, std::span<uint8_t> out) {
  for (size_t i = 0; i < out.size(); ++i) out[i] = PatternByte(offset + i);
}

// Writes `size` pattern bytes in `piece`-sized writes, then finishes.
Task<Status> WritePattern(ClientConnection& connection, uint64_t size, size_t piece) {
  std::vector<uint8_t> buffer(piece);
  for (uint64_t offset = 0; offset < size;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(piece, size - offset));
    FillPattern(offset, std::span(buffer).first(n));
    Status status = co_await connection.WriteBody(std::span(buffer).first(n));
    if (!status.ok()) co_return status;
    offset += n;
  }
  co_return co_await connection.FinishRequest();
}

// Reads a body and checks it is exactly `size` pattern bytes.
Task<Status> ReadPattern(ClientConnection& connection, uint64_t size, size_t piece) {
  std::vector<uint8_t> buffer(piece);
  uint64_t offset = 0;
  for (;;) {
    Result<size_t> n = co_await connection.ReadBody(buffer);
    if (!n.ok()) co_return n.error();
    if (*n == 0) break;
    for (size_t i = 0; i < *n; ++i) {
      if (buffer[i] != PatternByte(offset + i)) {
        co_return MakeError(Errc::kCorrupt, "mismatch at " + std::to_string(offset + i));
      }
    }
    offset += *n;
  }
  if (offset != size) {
    co_return MakeError(Errc::kCorrupt, "read " + std::to_string(offset) + " bytes, want " +
                                            std::to_string(size));
  }
  co_return Status::Ok();
}

// Reads a response head and a pattern body of `size` bytes.
Task<Status> ReadResponse(ClientConnection& connection, int status, uint64_t size) {
  Result<ResponseHead> head = co_await connection.ReadResponseHead();
  if (!head.ok()) co_return head.error();
  if (head->status != status || head->content_length != size) {
    co_return MakeError(Errc::kInternal, "unexpected response head");
  }
  co_return co_await ReadPattern(connection, size, 64 * 1024);
}

Task<Result<std::string>> ReadAll(ClientConnection& connection) {
  std::string all;
  std::vector<uint8_t> buffer(4096);
  for (;;) {
    Result<size_t> n = co_await connection.ReadBody(buffer);
    if (!n.ok()) co_return n.error();
    if (*n == 0) co_return all;
    all.append(reinterpret_cast<const char*>(buffer.data()), *n);
  }
}

// Reads a request body to the end; the count, or the error.
Task<Result<uint64_t>> Drain(BodyReader& body) {
  std::vector<uint8_t> buffer(64 * 1024);
  uint64_t total = 0;
  for (;;) {
    Result<size_t> n = co_await body.Read(buffer);
    if (!n.ok()) co_return n.error();
    if (*n == 0) co_return total;
    total += *n;
  }
}

uint64_t QuerySize(const Request& request) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!ParseQuery(request.query, &params)) return 0;
  for (auto& [name, value] : params) {
    if (name == "size") return std::stoull(value);
  }
  return 0;
}

// The routes the tests use.
Task<void> TestHandler(Request& request, BodyReader& body, ResponseWriter& response) {
  if (request.path == "/echo") {
    // Streams the body back as it arrives, with the request's framing.
    if (!(co_await response.WriteHead(200, Headers(), request.content_length)).ok()) co_return;
    std::vector<uint8_t> buffer(64 * 1024);
    for (;;) {
      Result<size_t> n = co_await body.Read(buffer);
      if (!n.ok()) {
        response.Abort();
        co_return;
      }
      if (*n == 0) break;
      if (!(co_await response.WriteBody(std::span(buffer).first(*n))).ok()) co_return;
    }
    (void)co_await response.Finish();
  } else if (request.path == "/sum") {
    // Reads everything, then reports what arrived.
    std::vector<uint8_t> buffer(10000);
    uint64_t total = 0;
    uint64_t mismatches = 0;
    for (;;) {
      Result<size_t> n = co_await body.ReadFull(buffer);
      if (!n.ok()) co_return;
      for (size_t i = 0; i < *n; ++i) mismatches += buffer[i] != PatternByte(total + i);
      total += *n;
      if (*n < buffer.size()) break;
    }
    const std::string text = std::to_string(total) + " mismatches=" + std::to_string(mismatches) +
                             " chunked=" + std::to_string(request.chunked) +
                             " read=" + std::to_string(body.bytes_read());
    (void)co_await response.Send(200, Headers(), text);
  } else if (request.path == "/stream") {
    const uint64_t size = QuerySize(request);
    if (!(co_await response.WriteHead(200, Headers(), std::nullopt)).ok()) co_return;
    std::vector<uint8_t> buffer(256 * 1024);
    for (uint64_t offset = 0; offset < size;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(buffer.size(), size - offset));
      FillPattern(offset, std::span(buffer).first(n));
      if (!(co_await response.WriteBody(std::span(buffer).first(n))).ok()) co_return;
      offset += n;
    }
    (void)co_await response.Finish();
  } else if (request.path == "/object") {
    constexpr uint64_t kSize = 12345;
    Headers headers;
    headers.Add("ETag", "\"abc\"");
    if (request.method == "HEAD") {
      if ((co_await response.WriteHead(200, headers, kSize)).ok()) (void)co_await response.Finish();
      co_return;
    }
    std::vector<uint8_t> object(kSize);
    FillPattern(0, object);
    if (!(co_await response.WriteHead(200, headers, kSize)).ok()) co_return;
    if (!(co_await response.WriteBody(object)).ok()) co_return;
    (void)co_await response.Finish();
  } else if (request.path == "/reject") {
    // Answers without reading the body.
    (void)co_await response.Send(413, Headers(), "too large");
  } else if (request.path == "/abort") {
    std::optional<uint64_t> length = 1000;
    if (request.query == "chunked") length.reset();
    if (!(co_await response.WriteHead(200, Headers(), length)).ok()) co_return;
    std::vector<uint8_t> some(100, 'x');
    (void)co_await response.WriteBody(some);
    response.Abort();
  } else if (request.path == "/nothing") {
    co_return;  // handler bug: no response
  } else {
    (void)co_await response.Send(404, Headers(), "no route");
  }
}

// A plain blocking socket with poll-based timeouts, for byte-exact checks.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("connect failed");
    }
  }
  ~RawClient() { ::close(fd_); }

  void Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  // Through the blank line ending a head.
  std::string ReadHead() {
    size_t end;
    while ((end = pending_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) throw std::runtime_error("EOF before end of head: " + pending_);
    }
    std::string head = pending_.substr(0, end + 4);
    pending_.erase(0, end + 4);
    return head;
  }
  std::string ReadExactly(size_t n) {
    while (pending_.size() < n) {
      if (!Fill()) throw std::runtime_error("EOF in body");
    }
    std::string out = pending_.substr(0, n);
    pending_.erase(0, n);
    return out;
  }
  // True if the peer closes (after any pending bytes) within 5 s.
  bool ReadsEof() {
    while (Fill()) {
    }
    return true;
  }

 private:
  bool Fill() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) throw std::runtime_error("read timed out");
    char buffer[65536];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0) throw std::runtime_error("recv failed");
    pending_.append(buffer, static_cast<size_t>(n));
    return n > 0;
  }

  int fd_;
  std::string pending_;
};

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(TestHandler); }

  void StartServer(Handler handler, ServerOptions options = {}) {
    server_.reset();
    auto started = HttpServer::Start(server_pool_, options, std::move(handler));
    ASSERT_TRUE(started.ok()) << started.error().message;
    server_ = std::move(started.value());
    endpoint_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  asio::io_context& client() { return client_pool_.context(0); }

  IoPool server_pool_{2};
  IoPool client_pool_{2};
  std::unique_ptr<HttpServer> server_;
  std::string endpoint_;
};

TEST_F(HttpTest, EchoesContentLengthBodyWhileStreaming) {
  constexpr uint64_t kSize = 10 << 20;
  RunOn(client(), [&]() -> Task<void> {
    auto connected = co_await Connect(endpoint_, 2s);
    CO_ASSERT_OK(connected);
    ClientConnection& connection = **connected;
    CO_ASSERT_OK(co_await connection.WriteRequestHead("PUT", "/echo", Headers(), kSize));
    // Full duplex: the reader starts first, so the writer knows the response
    // is being consumed and is not an early answer.
    std::vector<Task<Status>> tasks;
    tasks.push_back(ReadResponse(connection, 200, kSize));
    tasks.push_back(WritePattern(connection, kSize, 100 * 1000));
    std::vector<Status> results = co_await ParallelAll(std::move(tasks));
    CO_ASSERT_OK(results[0]);
    CO_ASSERT_OK(results[1]);
    // The head went out with more than 8 MiB of the body unread, so the
    // server announced "Connection: close" (it would not drain that much).
    EXPECT_FALSE(connection.reusable());
  });
}

TEST_F(HttpTest, ReadsChunkedRequestBody) {
  RunOn(client(), [&]() -> Task<void> {
    auto connected = co_await Connect(endpoint_, 2s);
    CO_ASSERT_OK(connected);
    ClientConnection& connection = **connected;
    CO_ASSERT_OK(co_await connection.WriteRequestHead("PUT", "/sum", Headers(), std::nullopt));
    uint64_t offset = 0;
    for (size_t piece : {1, 1000, 65536, 300000, 7, 123456}) {
      std::vector<uint8_t> bytes(piece);
      FillPattern(offset, bytes);
      CO_ASSERT_OK(co_await connection.WriteBody(bytes));
      offset += piece;
    }
    CO_ASSERT_OK(co_await connection.FinishRequest());
    Result<ResponseHead> head = co_await connection.ReadResponseHead();
    CO_ASSERT_OK(head);
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->headers.Get("Server"), "Holdfast");
    Result<std::string> body = co_await ReadAll(connection);
    CO_ASSERT_OK(body);
    const std::string total = std::to_string(offset);
    EXPECT_EQ(*body, total + " mismatches=0 chunked=1 read=" + total);
    EXPECT_TRUE(connection.reusable());
  });
}

// Bytes of the test pattern [offset, offset + n) as a string.
std::string PatternText(uint64_t offset, size_t n) {
  std::string text(n, '\0');
  for (size_t i = 0; i < n; ++i) text[i] = static_cast<char>(PatternByte(offset + i));
  return text;
}

TEST(ChunkSizeLineTest, ParsesHexSizesAndIgnoresExtensions) {
  EXPECT_EQ(ParseChunkSizeLine("0"), 0u);
  EXPECT_EQ(ParseChunkSizeLine("1a"), 26u);
  EXPECT_EQ(ParseChunkSizeLine("1A;name=value"), 26u);
  EXPECT_EQ(ParseChunkSizeLine("100000 ; a=\"b c\"\t;d"), 0x100000u);
  EXPECT_EQ(ParseChunkSizeLine("00000000000000000000001"), 1u);  // leading zeros cannot overflow
  EXPECT_EQ(ParseChunkSizeLine("1000000000000000"), uint64_t{1} << 60);
  EXPECT_EQ(ParseChunkSizeLine("ff  "), 255u);
}

TEST(ChunkSizeLineTest, RejectsMalformedSizes) {
  EXPECT_EQ(ParseChunkSizeLine(""), std::nullopt);
  EXPECT_EQ(ParseChunkSizeLine(";ext"), std::nullopt);
  EXPECT_EQ(ParseChunkSizeLine("-1"), std::nullopt);
  EXPECT_EQ(ParseChunkSizeLine("0x10"), std::nullopt);
  EXPECT_EQ(ParseChunkSizeLine("12 34"), std::nullopt);
  EXPECT_EQ(ParseChunkSizeLine("1000000000000001"), std::nullopt);    // over 2^60
  EXPECT_EQ(ParseChunkSizeLine("10000000000000000"), std::nullopt);   // 2^64 would wrap
  EXPECT_EQ(ParseChunkSizeLine("5;a\rb"), std::nullopt);
  EXPECT_EQ(ParseChunkSizeLine("5;a\x7f"), std::nullopt);
}

// Chunk extensions, trailer fields, and a second request in the same bytes,
// sent one byte at a time: the body stream must find every boundary however
// the bytes arrive, and leave the next request for the next head.
TEST_F(HttpTest, ReadsChunkedBodyWithExtensionsAndTrailersInAnySplit) {
  const std::string first = PatternText(0, 5);
  const std::string second = PatternText(5, 0x1b);
  const std::string request = "PUT /sum HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "5;name=\"va;lue\"\r\n" + first + "\r\n"
                              "1B \r\n" + second + "\r\n"
                              "0\r\nX-Trailer: one\r\nX-Other: two\r\n\r\n"
                              "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
  RawClient raw(server_->port());
  for (char c : request) raw.Send(std::string_view(&c, 1));
  const std::string head = raw.ReadHead();
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
  const std::string expected = "32 mismatches=0 chunked=1 read=32";
  EXPECT_EQ(raw.ReadExactly(expected.size()), expected);
  EXPECT_EQ(raw.ReadHead().rfind("HTTP/1.1 404", 0), 0u);
}

// A whole request in one send: the body bytes that arrive with the head are
// handed over first, then the rest is read straight from the socket.
TEST_F(HttpTest, ReadsLengthBodyThatArrivedWithTheHead) {
  const std::string body = PatternText(0, 300000);
  RawClient raw(server_->port());
  raw.Send("PUT /sum HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n" + body +
           "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string head = raw.ReadHead();
  const std::string expected = "300000 mismatches=0 chunked=0 read=300000";
  EXPECT_NE(head.find("Content-Length: " + std::to_string(expected.size())), std::string::npos) << head;
  EXPECT_EQ(raw.ReadExactly(expected.size()), expected);
  EXPECT_EQ(raw.ReadHead().rfind("HTTP/1.1 404", 0), 0u);
}

TEST_F(HttpTest, SendsContinueBeforeReadingBody) {
  RawClient raw(server_->port());
  raw.Send("PUT /sum HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(raw.ReadHead(), "HTTP/1.1 100 Continue\r\n\r\n");
  std::string body(5, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(PatternByte(i));
  raw.Send(body);
  const std::string head = raw.ReadHead();
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
  const std::string expected = "5 mismatches=0 chunked=0 read=5";
  EXPECT_NE(head.find("Content-Length: " + std::to_string(expected.size())), std::string::npos);
  EXPECT_EQ(raw.ReadExactly(expected.size()), expected);
}

TEST_F(HttpTest, StreamsLargeChunkedResponseInSmallReads) {
  constexpr uint64_t kSize = 50 << 20;
  RunOn(client(), [&]() -> Task<void> {
    auto connected = co_await Connect(endpoint_, 2s);
    CO_ASSERT_OK(connected);
    ClientConnection& connection = **connected;
    CO_ASSERT_OK(co_await connection.WriteRequestHead(
        "GET", "/stream?size=" + std::to_string(kSize), Headers(), 0));
    Result<ResponseHead> head = co_await connection.ReadResponseHead();
    CO_ASSERT_OK(head);
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->content_length, std::nullopt);
    EXPECT_EQ(head->headers.Get("transfer-encoding"), "chunked");
    CO_ASSERT_OK(co_await ReadPattern(connection, kSize, 7000));
    EXPECT_TRUE(connection.reusable());
  });
}

TEST_F(HttpTest, HeadHasLengthButNoBodyAndKeepsConnection) {
  RunOn(client(), [&]() -> Task<void> {
    auto connected = co_await Connect(endpoint_, 2s);
    CO_ASSERT_OK(connected);
    ClientConnection& connection = **connected;
    CO_ASSERT_OK(co_await connection.WriteRequestHead("HEAD", "/object", Headers(), 0));
    Result<ResponseHead> head = co_await connection.ReadResponseHead();
    CO_ASSERT_OK(head);
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->content_length, 12345u);
    EXPECT_EQ(head->headers.Get("etag"), "\"abc\"");
    Result<std::string> none = co_await ReadAll(connection);
    CO_ASSERT_OK(none);
    EXPECT_EQ(*none, "");
    CO_ASSERT_TRUE(connection.reusable());
    // The same connection carries a GET; a stray body would break parsing.
    CO_ASSERT_OK(co_await connection.WriteRequestHead("GET", "/object", Headers(), 0));
    head = co_await connection.ReadResponseHead();
    CO_ASSERT_OK(head);
    EXPECT_EQ(head->content_length, 12345u);
    CO_ASSERT_OK(co_await ReadPattern(connection, 12345, 4096));
  });
  // Byte-exact: a HEAD response carries the length and nothing after it.
  RawClient raw(server_->port());
  raw.Send("HEAD /object HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string head = raw.ReadHead();
  EXPECT_NE(head.find("Content-Length: 12345\r\n"), std::string::npos) << head;
  EXPECT_EQ(raw.ReadHead().rfind("HTTP/1.1 404", 0), 0u);
}

// A server whose handler reports how its body read ended.
class BodyResultTest : public HttpTest {
 protected:
  void SetUp() override { StartServer(Recorder()); }
  Handler Recorder() {
    return [this](Request&, BodyReader& body, ResponseWriter&) -> Task<void> {
      Result<uint64_t> drained = co_await Drain(body);
      outcome_.set_value(drained.ok() ? Status::Ok() : Status(drained.error()));
    };
  }
  Status WaitOutcome() {
    auto future = outcome_.get_future();
    if (future.wait_for(10s) != std::future_status::ready) {
      return MakeError(Errc::kInternal, "handler never finished");
    }
    return future.get();
  }
  std::promise<Status> outcome_;
};

TEST_F(BodyResultTest, ClientDisconnectMidBodyIsUnavailable) {
  RunOn(client(), [&]() -> Task<void> {
    auto connected = co_await Connect(endpoint_, 2s);
    CO_ASSERT_OK(connected);
    CO_ASSERT_OK(co_await (*connected)->WriteRequestHead("PUT", "/x", Headers(), 1 << 20));
    std::vector<uint8_t> some(100 * 1000, 'a');
    CO_ASSERT_OK(co_await (*connected)->WriteBody(some));
    (*connected)->Close();
  });
  Status outcome = WaitOutcome();
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code, Errc::kUnavailable) << outcome.error().message;
}

TEST_F(BodyResultTest, ClientDisconnectMidChunkedBodyIsUnavailable) {
  RunOn(client(), [&]() -> Task<void> {
    auto connected = co_await Connect(endpoint_, 2s);
    CO_ASSERT_OK(connected);
    CO_ASSERT_OK(co_await (*connected)->WriteRequestHead("PUT", "/x", Headers(), std::nullopt));
    std::vector<uint8_t> some(100 * 1000, 'a');
    CO_ASSERT_OK(co_await (*connected)->WriteBody(some));
    (*connected)->Close();
  });
  Status outcome = WaitOutcome();
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code, Errc::kUnavailable) << outcome.error().message;
}

// Broken chunked framing fails the read (the handler never sees a short
// body as complete) and closes the connection.
TEST_F(BodyResultTest, MalformedChunkSizeIsUnavailable) {
  RawClient raw(server_->port());
  raw.Send("PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n");
  Status outcome = WaitOutcome();
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code, Errc::kUnavailable);
  EXPECT_NE(outcome.error().message.find("malformed chunk size"), std::string::npos)
      << outcome.error().message;
}

TEST_F(BodyResultTest, ChunkLongerThanItsSizeIsUnavailable) {
  RawClient raw(server_->port());
  raw.Send("PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n");
  Status outcome = WaitOutcome();
  ASSERT_FALSE(outcome.ok());
  EXPECT_NE(outcome.error().message.find("longer than its size"), std::string::npos)
      << outcome.error().message;
}

TEST_F(BodyResultTest, BareLineFeedInChunkFramingIsUnavailable) {
  RawClient raw(server_->port());
  raw.Send("PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n");
  Status outcome = WaitOutcome();
  ASSERT_FALSE(outcome.ok());
  EXPECT_NE(outcome.error().message.find("CRLF"), std::string::npos) << outcome.error().message;
}

TEST_F(BodyResultTest, EndlessTrailersAreRefused) {
  RawClient raw(server_->port());
  raw.Send("PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n");
  const std::string field = "X-Filler: " + std::string(1000, 'a') + "\r\n";
  try {
    for (int i = 0; i < 100; ++i) raw.Send(field);  // 100 KB of trailers; the limit is 64 KiB
  } catch (const std::runtime_error&) {
    // The server may close while we still send.
  }
  Status outcome = WaitOutcome();
  ASSERT_FALSE(outcome.ok());
  EXPECT_NE(outcome.error().message.find("trailer"), std::string::npos) << outcome.error().message;
}

TEST_F(BodyResultTest, StalledBodyTimesOut) {
  ServerOptions options;
  options.idle_timeout = 1s;
  StartServer(Recorder(), options);
  RawClient raw(server_->port());
  raw.Send("PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
  const auto start = Clock::now();
  Status outcome = WaitOutcome();  // the client neither sends nor closes
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code, Errc::kUnavailable) << outcome.error().message;
  EXPECT_LT(Clock::now() - start, 5s);
}

// Sends a body to /reject sequentially: if a write fails, the peer may
// still have answered early, so look for its response.
Task<void> PutToRejectSequentially(const std::string& endpoint, std::optional<uint64_t> length,
                                   uint64_t send_bytes) {
  auto connected = co_await Connect(endpoint, 2s);
  CO_ASSERT_OK(connected);
  ClientConnection& connection = **connected;
  CO_ASSERT_OK(co_await connection.WriteRequestHead("PUT", "/reject", Headers(), length));
  (void)co_await WritePattern(connection, send_bytes, 64 * 1024);  // may fail
  Result<ResponseHead> head = co_await connection.ReadResponseHead();
  CO_ASSERT_OK(head);
  EXPECT_EQ(head->status, 413);
  Result<std::string> body = co_await ReadAll(connection);
  CO_ASSERT_OK(body);
  EXPECT_EQ(*body, "too large");
}

struct EarlyAnswer {
  bool arrived = false;
  std::optional<Result<ResponseHead>> head;
};

Task<Status> WatchForResponse(ClientConnection& connection, EarlyAnswer& answer) {
  answer.head = co_await connection.ReadResponseHead();
  answer.arrived = true;
  co_return Status::Ok();
}

Task<Status> WriteUntilAnswered(ClientConnection& connection, uint64_t size,
                                const EarlyAnswer& answer) {
  std::vector<uint8_t> buffer(64 * 1024, 'z');
  for (uint64_t offset = 0; offset < size && !answer.arrived; offset += buffer.size()) {
    Status status = co_await connection.WriteBody(buffer);
    if (!status.ok()) co_return status;
  }
  co_return Status::Ok();
}

TEST_F(HttpTest, ResponseArrivesWhenHandlerIgnoresBody) {
  RunOn(client(), [&]() -> Task<void> {
    // Small remainder: the server drains it.
    co_await PutToRejectSequentially(endpoint_, 1 << 20, 1 << 20);
    // Large remainder: the server stops reading after lingering a while;
    // a body sent within that time still gets the response.
    co_await PutToRejectSequentially(endpoint_, 64 << 20, 64 << 20);

    // The prompt way: watch for the response while writing, stop when it comes.
    auto connected = co_await Connect(endpoint_, 2s);
    CO_ASSERT_OK(connected);
    ClientConnection& connection = **connected;
    CO_ASSERT_OK(co_await connection.WriteRequestHead("PUT", "/reject", Headers(), std::nullopt));
    EarlyAnswer answer;
    std::vector<Task<Status>> tasks;
    tasks.push_back(WatchForResponse(connection, answer));
    tasks.push_back(WriteUntilAnswered(connection, uint64_t{1} << 40, answer));
    (void)co_await ParallelAll(std::move(tasks));
    CO_ASSERT_TRUE(answer.head.has_value());
    CO_ASSERT_OK(*answer.head);
    EXPECT_EQ((*answer.head)->status, 413);
    EXPECT_EQ((*answer.head)->headers.Get("connection"), "close");
    Result<std::string> body = co_await ReadAll(connection);
    CO_ASSERT_OK(body);
    EXPECT_EQ(*body, "too large");
    EXPECT_FALSE(connection.reusable());

    // The server is still healthy.
    Result<SimpleResponse> after = co_await Fetch(nullptr, endpoint_, "GET", "/object",
                                                  Headers(), "", 2s);
    CO_ASSERT_OK(after);
    EXPECT_EQ(after->status, 200);
  });
}

TEST_F(HttpTest, EarlyResponseIsReadableAfterWriteFails) {
  // The body never ends, so the server closes after lingering (~2 s); the
  // write fails, and the response that came before the close is still there.
  RunOn(client(), [&]() -> Task<void> {
    auto connected = co_await Connect(endpoint_, 2s);
    CO_ASSERT_OK(connected);
    ClientConnection& connection = **connected;
    const uint64_t endless = uint64_t{1} << 40;
    CO_ASSERT_OK(co_await connection.WriteRequestHead("PUT", "/reject", Headers(), endless));
    Status written = co_await WritePattern(connection, endless, 1 << 20);
    CO_ASSERT_TRUE(!written.ok());
    EXPECT_EQ(written.error().code, Errc::kUnavailable);
    Result<ResponseHead> head = co_await connection.ReadResponseHead();
    CO_ASSERT_OK(head);
    EXPECT_EQ(head->status, 413);
    Result<std::string> body = co_await ReadAll(connection);
    CO_ASSERT_OK(body);
    EXPECT_EQ(*body, "too large");
    EXPECT_FALSE(connection.reusable());
  });
}

TEST_F(HttpTest, SmallUnreadBodyIsDrainedAndConnectionKept) {
  RawClient raw(server_->port());
  raw.Send("PUT /reject HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"
           "GET /object HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string first = raw.ReadHead();
  EXPECT_EQ(first.rfind("HTTP/1.1 413", 0), 0u) << first;
  EXPECT_EQ(first.find("Connection: close"), std::string::npos) << first;
  EXPECT_EQ(raw.ReadExactly(9), "too large");
  EXPECT_EQ(raw.ReadHead().rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(HttpTest, AbortIsNeverAComplete) {
  RunOn(client(), [&]() -> Task<void> {
    for (std::string target : {"/abort", "/abort?chunked"}) {
      auto connected = co_await Connect(endpoint_, 2s);
      CO_ASSERT_OK(connected);
      ClientConnection& connection = **connected;
      CO_ASSERT_OK(co_await connection.WriteRequestHead("GET", target, Headers(), 0));
      Result<ResponseHead> head = co_await connection.ReadResponseHead();
      if (!head.ok()) continue;  // also acceptable: nothing arrived
      Result<std::string> body = co_await ReadAll(connection);
      EXPECT_FALSE(body.ok()) << target << " read as complete";
      if (!body.ok()) {
        EXPECT_EQ(body.error().code, Errc::kUnavailable);
      }
      EXPECT_FALSE(connection.reusable());
    }
  });
}

TEST_F(HttpTest, HandlerWithoutResponseGets500) {
  RunOn(client(), [&]() -> Task<void> {
    Result<SimpleResponse> response =
        co_await Fetch(nullptr, endpoint_, "GET", "/nothing", Headers(), "", 2s);
    CO_ASSERT_OK(response);
    EXPECT_EQ(response->status, 500);
  });
}

TEST_F(HttpTest, PoolReusesConnectionsPerExecutor) {
  ConnectionPool pool(2s);
  auto exchange = [&](ClientConnection& connection) -> Task<Status> {
    Status sent = co_await connection.WriteRequestHead("GET", "/object", Headers(), 0);
    if (!sent.ok()) co_return sent;
    Result<ResponseHead> head = co_await connection.ReadResponseHead();
    if (!head.ok()) co_return head.error();
    co_return co_await ReadPattern(connection, 12345, 4096);
  };
  RunOn(client_pool_.context(0), [&]() -> Task<void> {
    auto first = co_await pool.Acquire(endpoint_);
    CO_ASSERT_OK(first);
    EXPECT_FALSE((*first)->reused());
    CO_ASSERT_OK(co_await exchange(**first));
    pool.Release(endpoint_, std::move(*first));
    auto second = co_await pool.Acquire(endpoint_);
    CO_ASSERT_OK(second);
    EXPECT_TRUE((*second)->reused());
    CO_ASSERT_OK(co_await exchange(**second));
    pool.Release(endpoint_, std::move(*second));
  });
  // The idle connection belongs to context 0; context 1 gets its own.
  RunOn(client_pool_.context(1), [&]() -> Task<void> {
    auto other = co_await pool.Acquire(endpoint_);
    CO_ASSERT_OK(other);
    EXPECT_FALSE((*other)->reused());
    CO_ASSERT_OK(co_await exchange(**other));
  });
  // Fetch goes through the pool too.
  RunOn(client_pool_.context(0), [&]() -> Task<void> {
    for (int i = 0; i < 3; ++i) {
      Result<SimpleResponse> response =
          co_await Fetch(&pool, endpoint_, "PUT", "/echo", Headers(), "hello", 2s);
      CO_ASSERT_OK(response);
      EXPECT_EQ(response->body, "hello");
    }
    auto pooled = co_await pool.Acquire(endpoint_);
    CO_ASSERT_OK(pooled);
    EXPECT_TRUE((*pooled)->reused());
  });
}

TEST_F(HttpTest, PoolDropsConnectionsTheServerClosed) {
  ConnectionPool pool(2s);
  RunOn(client(), [&]() -> Task<void> {
    Result<SimpleResponse> response =
        co_await Fetch(&pool, endpoint_, "GET", "/object", Headers(), "", 2s);
    CO_ASSERT_OK(response);
  });
  server_->Stop();  // closes the idle connection in the pool, stops accepting
  RunOn(client(), [&]() -> Task<void> {
    // Poll until the server's close has reached us; then the pool must not
    // hand out the dead connection, and a new connect is refused.
    const auto deadline = Clock::now() + 5s;
    for (;;) {
      auto acquired = co_await pool.Acquire(endpoint_);
      if (!acquired.ok()) {
        EXPECT_EQ(acquired.error().code, Errc::kUnavailable);
        co_return;
      }
      CO_ASSERT_TRUE((*acquired)->reused());
      pool.Release(endpoint_, std::move(*acquired));
      CO_ASSERT_TRUE(Clock::now() < deadline);
      co_await SleepFor(10ms);
    }
  });
}

TEST_F(HttpTest, StopClosesIdleConnections) {
  RawClient raw(server_->port());
  raw.Send("GET /object HTTP/1.1\r\nHost: x\r\n\r\n");
  raw.ReadHead();
  raw.ReadExactly(12345);
  server_->Stop();
  EXPECT_TRUE(raw.ReadsEof());
  RunOn(client(), [&]() -> Task<void> {
    auto connected = co_await Connect(endpoint_, 2s);
    EXPECT_FALSE(connected.ok());
  });
}

TEST_F(HttpTest, RejectsOversizedHeader) {
  RawClient raw(server_->port());
  raw.Send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(70 * 1024, 'a') + "\r\n\r\n");
  EXPECT_EQ(raw.ReadHead().rfind("HTTP/1.1 431", 0), 0u);
}

// A peer that answers every connection with `response` and closes.
class RawServer {
 public:
  explicit RawServer(std::string response) : response_(std::move(response)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 4) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
      throw std::runtime_error("listen failed");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      const int connection = ::accept(fd_, nullptr, nullptr);
      if (connection < 0) return;
      char request[4096];
      (void)::recv(connection, request, sizeof request, 0);
      (void)::send(connection, response_.data(), response_.size(), MSG_NOSIGNAL);
      ::close(connection);
    });
  }
  ~RawServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::string response_;
  int fd_;
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST(ClientBodyTest, ReadsBodyThatEndsWhenThePeerCloses) {
  RawServer server("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nno length, ends at close");
  IoPool pool(1);
  RunOn(pool.context(0), [&]() -> Task<void> {
    Result<SimpleResponse> response = co_await Fetch(nullptr, server.endpoint(), "GET", "/", Headers(), "", 5s);
    CO_ASSERT_OK(response);
    EXPECT_EQ(response->body, "no length, ends at close");
  });
}

TEST(ClientBodyTest, ResponseShorterThanItsLengthIsUnavailable) {
  RawServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
  IoPool pool(1);
  RunOn(pool.context(0), [&]() -> Task<void> {
    Result<SimpleResponse> response = co_await Fetch(nullptr, server.endpoint(), "GET", "/", Headers(), "", 5s);
    CO_ASSERT_TRUE(!response.ok());
    EXPECT_EQ(response.error().code, Errc::kUnavailable);
    EXPECT_NE(response.error().message.find("closed the connection before the body ended"), std::string::npos)
        << response.error().message;
  });
}

TEST(FetchTest, ClosedPortFailsQuickly) {
  uint16_t port;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = acceptor.local_endpoint().port();
  }
  IoPool pool(1);
  ConnectionPool connections(2s);
  RunOn(pool.context(0), [&]() -> Task<void> {
    const std::string endpoint = "127.0.0.1:" + std::to_string(port);
    for (ConnectionPool* use_pool : {static_cast<ConnectionPool*>(nullptr), &connections}) {
      const auto start = Clock::now();
      Result<SimpleResponse> response =
          co_await Fetch(use_pool, endpoint, "GET", "/", Headers(), "", 5s);
      CO_ASSERT_TRUE(!response.ok());
      EXPECT_EQ(response.error().code, Errc::kUnavailable) << response.error().message;
      EXPECT_LT(Clock::now() - start, 2s);
    }
    Result<SimpleResponse> bad = co_await Fetch(nullptr, "no-port", "GET", "/", Headers(), "", 1s);
    EXPECT_FALSE(bad.ok());
  });
}

}  // namespace
}  // namespace holdfast::net
