#include "gateway/ledger_api.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <map>

#include "common/digest.h"
#include "common/log.h"
#include "ledger/ledger.h"

namespace holdfast::gateway {
namespace {

using net::Task;
using nlohmann::json;

constexpr int kDefaultPageLimit = 1000;
constexpr int kMaxPageLimit = 10000;
constexpr size_t kMaxJsonBodyBytes = 1 << 20;
constexpr size_t kReadChunkBytes = 64 * 1024;

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::string allow;  // for 405
};

Reply ErrorReply(int status, const std::string& message) {
  return Reply{status, json{{"error", message}}.dump(), "application/json", ""};
}

// One internal error -> one HTTP status, here only.
Reply FromError(const Error& error) {
  switch (error.code) {
    case Errc::kInvalidArgument: return ErrorReply(400, error.message);
    case Errc::kNotFound: return ErrorReply(404, error.message);
    case Errc::kConflict: return ErrorReply(409, error.message);
    case Errc::kTooLarge: return ErrorReply(413, error.message);
    default: return ErrorReply(503, "the ledger cannot be read or written now: " + error.message);
  }
}

Reply JsonReply(int status, const json& body) { return Reply{status, body.dump(), "application/json", ""}; }

using Params = std::map<std::string, std::string>;

// A decimal count from the query; `fallback` when absent.
Result<std::optional<uint64_t>> CountParam(const Params& params, const std::string& name) {
  const auto it = params.find(name);
  if (it == params.end()) return std::optional<uint64_t>();
  uint64_t value = 0;
  const char* end = it->second.data() + it->second.size();
  const auto [ptr, ec] = std::from_chars(it->second.data(), end, value);
  if (it->second.empty() || ec != std::errc() || ptr != end || value > uint64_t{INT64_MAX}) {
    return MakeError(Errc::kInvalidArgument, name + " must be a whole number, got '" + it->second + "'");
  }
  return std::optional<uint64_t>(value);
}

Result<int> LimitParam(const Params& params) {
  auto limit = CountParam(params, "limit");
  if (!limit) return limit.error();
  if (!limit->has_value()) return kDefaultPageLimit;
  if (**limit == 0 || **limit > static_cast<uint64_t>(kMaxPageLimit)) {
    return MakeError(Errc::kInvalidArgument, "limit must be 1.." + std::to_string(kMaxPageLimit));
  }
  return static_cast<int>(**limit);
}

json HeadOrNull(const std::optional<ledger::TreeHead>& head) {
  return head ? ledger::TreeHeadToJson(*head) : json();
}

json KeyJson(const ledger::PublicKey& key) {
  return {{"algorithm", "ed25519"}, {"public_key", ledger::HexOf(key)}, {"key_id", ledger::KeyId(key)}};
}

json Hashes(const std::vector<ledger::Hash>& hashes) {
  json out = json::array();
  for (const auto& hash : hashes) out.push_back(ledger::ToHex(hash));
  return out;
}

// --- Blocking handlers (run on the blocking pool) -------------------------------

Reply GetHead(ledger::Ledger& ledger) {
  auto head = ledger.LatestTreeHead();
  if (!head) return FromError(head.error());
  auto size = ledger.Size();
  if (!size) return FromError(size.error());
  json body = KeyJson(ledger.public_key());
  body["tree_head"] = HeadOrNull(*head);
  body["tree_size"] = *size;
  return JsonReply(200, body);
}

Reply SignHead(ledger::Ledger& ledger) {
  auto head = ledger.SignTreeHead();
  if (!head) return FromError(head.error());
  json body = KeyJson(ledger.public_key());
  body["tree_head"] = ledger::TreeHeadToJson(*head);
  body["tree_size"] = head->tree_size;
  return JsonReply(201, body);
}

Reply GetEntries(ledger::Ledger& ledger, const Params& params) {
  auto first = CountParam(params, "first");
  if (!first) return FromError(first.error());
  auto limit = LimitParam(params);
  if (!limit) return FromError(limit.error());
  auto entries = ledger.Entries(first->value_or(0), *limit);
  if (!entries) return FromError(entries.error());
  // The stored bytes verbatim, one per line: re-serialising would hide a
  // stored entry that is no longer canonical.
  Reply reply{200, "", "application/x-ndjson", ""};
  for (const auto& entry : *entries) {
    reply.body += entry.canonical;
    reply.body += '\n';
  }
  return reply;
}

Reply GetTreeHeads(ledger::Ledger& ledger, const Params& params) {
  auto after = CountParam(params, "after_seq");
  if (!after) return FromError(after.error());
  auto limit = LimitParam(params);
  if (!limit) return FromError(limit.error());
  auto heads = ledger.TreeHeads(static_cast<int64_t>(after->value_or(0)), *limit);
  if (!heads) return FromError(heads.error());
  json list = json::array();
  for (const auto& stored : *heads) {
    json item = ledger::TreeHeadToJson(stored.head);
    item["seq"] = stored.seq;
    list.push_back(std::move(item));
  }
  return JsonReply(200, json{{"tree_heads", std::move(list)}});
}

// The size proofs refer to by default: the latest signed head's, so the
// proof can be checked against a signature.
Result<uint64_t> SizeParam(ledger::Ledger& ledger, const Params& params, const std::string& name) {
  auto given = CountParam(params, name);
  if (!given) return given.error();
  if (given->has_value()) return **given;
  auto head = ledger.LatestTreeHead();
  if (!head) return head.error();
  if (!head->has_value()) return MakeError(Errc::kNotFound, "no tree head has been signed yet");
  return (*head)->tree_size;
}

Reply GetInclusionProof(ledger::Ledger& ledger, const Params& params) {
  auto index = CountParam(params, "index");
  if (!index) return FromError(index.error());
  if (!index->has_value()) return ErrorReply(400, "index is required");
  auto size = SizeParam(ledger, params, "tree_size");
  if (!size) return FromError(size.error());
  auto proof = ledger.InclusionProof(**index, *size);
  if (!proof) return FromError(proof.error());
  auto entries = ledger.Entries(**index, 1);
  if (!entries) return FromError(entries.error());
  auto head = ledger.TreeHeadOfSize(*size);
  if (!head) return FromError(head.error());
  json body = {{"index", **index}, {"tree_size", *size}, {"proof", Hashes(*proof)}};
  body["leaf_hash"] = entries->empty() ? json() : json(entries->front().leaf_hash_hex);
  body["tree_head"] = HeadOrNull(*head);
  return JsonReply(200, body);
}

Reply GetConsistencyProof(ledger::Ledger& ledger, const Params& params) {
  auto first = CountParam(params, "first");
  if (!first) return FromError(first.error());
  if (!first->has_value()) return ErrorReply(400, "first is required");
  auto second = SizeParam(ledger, params, "second");
  if (!second) return FromError(second.error());
  auto proof = ledger.ConsistencyProof(**first, *second);
  if (!proof) return FromError(proof.error());
  auto first_head = ledger.TreeHeadOfSize(**first);
  if (!first_head) return FromError(first_head.error());
  auto second_head = ledger.TreeHeadOfSize(*second);
  if (!second_head) return FromError(second_head.error());
  json body = {{"first", **first}, {"second", *second}, {"proof", Hashes(*proof)}};
  body["first_tree_head"] = HeadOrNull(*first_head);
  body["second_tree_head"] = HeadOrNull(*second_head);
  return JsonReply(200, body);
}

Reply FileReceipt(ledger::Ledger& ledger, ledger::EntryKind kind, const json& fields) {
  auto receipt = ledger.AppendWithReceipt(kind, fields);
  if (!receipt) return FromError(receipt.error());
  HF_LOG_INFO("ledger: recorded {} as entry {}", ledger::KindName(kind), receipt->appended.entry.index);
  return JsonReply(201, ledger::ReceiptToJson(*receipt));
}

Reply PostEntry(ledger::Ledger& ledger, const std::string& text) {
  const json request = json::parse(text, nullptr, false);
  if (!request.is_object() || !request.contains("kind") || !request["kind"].is_string() ||
      !request.contains("fields")) {
    return ErrorReply(400, R"(the body must be a JSON object {"kind": "...", "fields": {...}})");
  }
  const auto kind = ledger::ParseKind(request["kind"].get<std::string>());
  if (!kind) return ErrorReply(400, "unknown entry kind '" + request["kind"].get<std::string>() + "'");
  return FileReceipt(ledger, *kind, request["fields"]);
}

Reply PostAcknowledgement(ledger::Ledger& ledger, const std::string& text) {
  const json fields = json::parse(text, nullptr, false);
  if (!fields.is_object()) return ErrorReply(400, "the body must be a JSON object of the acknowledgement's fields");
  return FileReceipt(ledger, ledger::EntryKind::kAcknowledgement, fields);
}

Reply PostPreservationRequest(ledger::Ledger& ledger, const Params& params, const std::string& document_sha256,
                              uint64_t document_size_bytes) {
  json fields = {{"document_sha256", document_sha256}, {"document_size_bytes", document_size_bytes}};
  for (const char* name : {"case", "requested_by"}) {
    const auto it = params.find(name);
    if (it == params.end() || it->second.empty()) return ErrorReply(400, std::string(name) + " is required");
  }
  fields["case_reference"] = params.at("case");
  fields["requested_by"] = params.at("requested_by");
  const auto scope = params.find("scope");
  fields["scope"] = scope == params.end() ? "" : scope->second;
  return FileReceipt(ledger, ledger::EntryKind::kPreservationRequest, fields);
}

// --- Routing -------------------------------------------------------------------

enum class Route { kHead, kPublicKey, kEntries, kTreeHeads, kInclusion, kConsistency,
                   kPreservationRequests, kAcknowledgements, kUnknown };

Route RouteOf(std::string_view rest) {
  static const std::map<std::string_view, Route> routes = {
      {"head", Route::kHead},
      {"public-key", Route::kPublicKey},
      {"entries", Route::kEntries},
      {"tree-heads", Route::kTreeHeads},
      {"proof/inclusion", Route::kInclusion},
      {"proof/consistency", Route::kConsistency},
      {"preservation-requests", Route::kPreservationRequests},
      {"acknowledgements", Route::kAcknowledgements},
  };
  const auto it = routes.find(rest);
  return it == routes.end() ? Route::kUnknown : it->second;
}

// Which methods each route takes, for 405 answers.
std::string AllowedMethods(Route route) {
  switch (route) {
    case Route::kHead: return "GET, POST";
    case Route::kEntries: return "GET, POST";
    case Route::kPreservationRequests:
    case Route::kAcknowledgements: return "POST";
    default: return "GET";
  }
}

Task<Result<std::string>> ReadJsonBody(net::BodyReader& body) {
  std::string text;
  std::vector<uint8_t> chunk(kReadChunkBytes);
  while (true) {
    auto n = co_await body.Read(chunk);
    if (!n) co_return n.error();
    if (*n == 0) co_return text;
    text.append(reinterpret_cast<const char*>(chunk.data()), *n);
    if (text.size() > kMaxJsonBodyBytes) co_return MakeError(Errc::kTooLarge, "the JSON body exceeds 1 MiB");
  }
}

struct DocumentDigest {
  std::string sha256_hex;
  uint64_t size_bytes = 0;
};

// Streams the attached document through SHA-256: only its hash is kept.
Task<Result<DocumentDigest>> HashBody(net::BodyReader& body) {
  Sha256Stream sha;
  DocumentDigest digest;
  std::vector<uint8_t> chunk(kReadChunkBytes);
  while (true) {
    auto n = co_await body.Read(chunk);
    if (!n) co_return n.error();
    if (*n == 0) break;
    sha.Update(std::span<const uint8_t>(chunk.data(), *n));
    digest.size_bytes += *n;
  }
  digest.sha256_hex = HexLower(sha.Finish());
  co_return digest;
}

// `params` by value: a lazy coroutine must not hold references to its
// caller's temporaries (GCC 12).
Task<Reply> Dispatch(GatewayContext& ctx, const net::Request& http, net::BodyReader& body, Route route,
                     Params params) {
  ledger::Ledger& ledger = *ctx.ledger;
  const bool get = http.method == "GET";
  const bool post = http.method == "POST";
  if (route == Route::kHead && get) co_return co_await net::RunBlocking(ctx.blocking_pool, [&] { return GetHead(ledger); });
  if (route == Route::kHead && post) co_return co_await net::RunBlocking(ctx.blocking_pool, [&] { return SignHead(ledger); });
  if (route == Route::kPublicKey && get) co_return JsonReply(200, KeyJson(ledger.public_key()));
  if (route == Route::kEntries && get) {
    co_return co_await net::RunBlocking(ctx.blocking_pool, [&] { return GetEntries(ledger, params); });
  }
  if (route == Route::kTreeHeads && get) {
    co_return co_await net::RunBlocking(ctx.blocking_pool, [&] { return GetTreeHeads(ledger, params); });
  }
  if (route == Route::kInclusion && get) {
    co_return co_await net::RunBlocking(ctx.blocking_pool, [&] { return GetInclusionProof(ledger, params); });
  }
  if (route == Route::kConsistency && get) {
    co_return co_await net::RunBlocking(ctx.blocking_pool, [&] { return GetConsistencyProof(ledger, params); });
  }
  if (route == Route::kPreservationRequests && post) {
    auto digest = co_await HashBody(body);
    if (!digest) co_return FromError(digest.error());
    const DocumentDigest document = *digest;
    co_return co_await net::RunBlocking(ctx.blocking_pool, [&] {
      return PostPreservationRequest(ledger, params, document.sha256_hex, document.size_bytes);
    });
  }
  if ((route == Route::kAcknowledgements || route == Route::kEntries) && post) {
    auto text = co_await ReadJsonBody(body);
    if (!text) co_return FromError(text.error());
    const std::string request = *text;
    if (route == Route::kEntries) {
      co_return co_await net::RunBlocking(ctx.blocking_pool, [&] { return PostEntry(ledger, request); });
    }
    co_return co_await net::RunBlocking(ctx.blocking_pool, [&] { return PostAcknowledgement(ledger, request); });
  }
  Reply reply = ErrorReply(405, http.method + " is not allowed on " + http.path);
  reply.allow = AllowedMethods(route);
  co_return reply;
}

}  // namespace

Task<void> HandleLedger(GatewayContext& ctx, const net::Request& http, net::BodyReader& body,
                        net::ResponseWriter& out) {
  Reply reply;
  const Route route = RouteOf(std::string_view(http.path).substr(kLedgerPathPrefix.size()));
  std::vector<std::pair<std::string, std::string>> query;
  if (ctx.ledger == nullptr) {
    reply = ErrorReply(503, "this gateway has no ledger");
  } else if (route == Route::kUnknown) {
    reply = ErrorReply(404, "no such ledger endpoint: " + http.path);
  } else if (!net::ParseQuery(http.query, &query)) {
    reply = ErrorReply(400, "malformed percent-escape in the query");
  } else {
    Params params(query.begin(), query.end());
    reply = co_await Dispatch(ctx, http, body, route, params);
  }
  net::Headers headers;
  headers.Set("Content-Type", reply.content_type);
  if (!reply.allow.empty()) headers.Set("Allow", reply.allow);
  (void)co_await out.Send(reply.status, headers, reply.body);
}

Task<void> RunLedgerTreeHeadSigner(GatewayContext& ctx, std::chrono::milliseconds interval,
                                   const std::atomic<bool>& stopping) {
  // Short naps, so that a long interval does not hold up shutdown.
  const std::chrono::milliseconds nap = std::min(interval, std::chrono::milliseconds(500));
  auto next = std::chrono::steady_clock::now();
  while (!stopping) {
    if (std::chrono::steady_clock::now() >= next && ctx.ledger != nullptr) {
      auto head = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.ledger->SignTreeHeadIfGrown(); });
      if (!head) {
        HF_LOG_ERROR("ledger: cannot sign a tree head: {}", head.error().message);
      } else if (head->has_value()) {
        HF_LOG_INFO("ledger: signed the tree head of {} entries", (*head)->tree_size);
      }
      next = std::chrono::steady_clock::now() + interval;
    }
    co_await net::SleepFor(nap);
  }
}

}  // namespace holdfast::gateway
