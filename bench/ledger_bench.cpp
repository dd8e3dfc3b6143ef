// The notice ledger at scale: appends into the SQLite store and proof
// generation with 1,000,000 entries (BENCHMARKS.md, "Notice ledger").
//
//   sha256_65B / _300B / _1MiB  raw SHA-256 of a node input / a typical
//                             entry / a large buffer: the same-run reference
//   sha256_evp_65B            the same through EVP (common/digest.h)
//   node_hash                 ledger::NodeHash
//   memory_tree_append        MemoryTree::Append (leaf hash + amortised one
//                             node hash), what a verifier does per entry
//   store_append              Ledger::Append on the 1M-entry store: validate,
//                             canonicalise, hash, one write transaction with
//                             fsync (synchronous=FULL), on this disk
//   inclusion_proof_1M        Ledger::InclusionProof(random index, 1M)
//   consistency_proof_1M      Ledger::ConsistencyProof(random size, 1M)
//   root_1M                   Ledger::Root(1M): one fold of stored subtrees
//   verify_inclusion_1M       VerifyInclusion of such a proof
//
// The 1M-entry store is built once in $HOLDFAST_LEDGER_BENCH_DIR (default
// /tmp/holdfast-ledger-bench) by bulk-inserting precomputed rows into the
// real schema (one transaction), because a million fsynced appends would
// take most of an hour; it is reused by later runs. Times are CPU time
// except store_append, which is real time (it waits for fsync).
#include <benchmark/benchmark.h>
#include <openssl/sha.h>
#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "common/clock.h"
#include "common/digest.h"
#include "ledger/ledger.h"
#include "meta/meta_store.h"

namespace {

namespace fs = std::filesystem;
using namespace holdfast;

constexpr uint64_t kEntries = 1'000'000;

nlohmann::json Fields(uint64_t i) {
  return {{"what", "bucket archive-" + std::to_string(i % 1000) + " object " + std::to_string(i)},
          {"reason", "retention period over, deletion notice 12 delivered and acknowledged"}};
}

bool Exec(sqlite3* db, const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK; }

// Fills a fresh store with kEntries entries through the real schema.
void BulkFill(const fs::path& path) {
  ledger::MemoryTree tree;
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK || !Exec(db, "BEGIN")) std::abort();
  sqlite3_stmt* entry = nullptr;
  sqlite3_stmt* node = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO ledger_entries (idx, kind, timestamp_ms, leaf_hash, canonical) "
                         "VALUES (?1, 'data_destroyed', ?2, ?3, ?4)", -1, &entry, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO ledger_nodes (level, idx, hash) VALUES (?1, ?2, ?3)", -1, &node, nullptr);
  std::vector<std::vector<ledger::Hash>> levels(1);
  for (uint64_t i = 0; i < kEntries; ++i) {
    ledger::Entry e{i, ledger::EntryKind::kDataDestroyed, 1700000000000 + static_cast<int64_t>(i), Fields(i)};
    const std::string canonical = *ledger::SerializeEntry(e);
    ledger::Hash hash = ledger::LeafHash(canonical);
    const std::string leaf_hex = ledger::ToHex(hash);
    sqlite3_bind_int64(entry, 1, static_cast<int64_t>(i));
    sqlite3_bind_int64(entry, 2, e.timestamp_ms);
    sqlite3_bind_text(entry, 3, leaf_hex.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(entry, 4, canonical.c_str(), static_cast<int>(canonical.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(entry) != SQLITE_DONE) std::abort();
    sqlite3_reset(entry);
    // The subtrees this leaf completes, as Ledger::Append computes them.
    levels[0].push_back(hash);
    uint64_t index = i;
    for (size_t level = 0; (index & 1) != 0; ++level, index >>= 1) {
      if (levels.size() == level + 1) levels.emplace_back();
      hash = ledger::NodeHash(levels[level][index - 1], hash);
      levels[level + 1].push_back(hash);
      const std::string hex = ledger::ToHex(hash);
      sqlite3_bind_int(node, 1, static_cast<int>(level + 1));
      sqlite3_bind_int64(node, 2, static_cast<int64_t>(index >> 1));
      sqlite3_bind_text(node, 3, hex.c_str(), -1, SQLITE_TRANSIENT);
      if (sqlite3_step(node) != SQLITE_DONE) std::abort();
      sqlite3_reset(node);
    }
  }
  sqlite3_finalize(entry);
  sqlite3_finalize(node);
  if (!Exec(db, "COMMIT")) std::abort();
  sqlite3_close(db);
}

// One store of kEntries entries for the whole run (appends grow it a little).
struct Fixture {
  std::unique_ptr<meta::MetaStore> store;
  std::unique_ptr<ledger::Ledger> ledger;
  uint64_t size = 0;

  static Fixture& Get() {
    static Fixture fixture = Make();
    return fixture;
  }

  static Fixture Make() {
    const char* env = std::getenv("HOLDFAST_LEDGER_BENCH_DIR");
    const fs::path dir = env != nullptr ? env : "/tmp/holdfast-ledger-bench";
    fs::create_directories(dir);
    const fs::path path = dir / "meta.db";
    Fixture fixture;
    auto store = meta::OpenSqliteStore(path);
    if (!store) std::abort();
    if (*(*store)->LedgerSize() < kEntries) {
      store->reset();
      for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path.string() + suffix);
      store = meta::OpenSqliteStore(path);  // creates the schema
      if (!store) std::abort();
      BulkFill(path);
    }
    fixture.store = std::move(*store);
    auto key = ledger::SigningKey::Generate();
    fixture.ledger = std::make_unique<ledger::Ledger>(*fixture.store, *key, SystemClock());
    fixture.size = kEntries;
    return fixture;
  }
};

// Raw SHA-256 (OpenSSL's low-level API, as ledger/merkle.cpp uses it).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
void Sha256Of(benchmark::State& state, size_t bytes) {
  std::string input(bytes, 'x');
  unsigned char out[32];
  for (auto _ : state) {
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, input.data(), input.size());
    SHA256_Final(out, &ctx);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}
#pragma GCC diagnostic pop
void BM_Sha256_65B(benchmark::State& state) { Sha256Of(state, 65); }
void BM_Sha256_300B(benchmark::State& state) { Sha256Of(state, 300); }
void BM_Sha256_1MiB(benchmark::State& state) { Sha256Of(state, 1 << 20); }
// What common/digest.h's Sha256() costs (an EVP context and fetch per call).
void BM_Sha256Evp_65B(benchmark::State& state) {
  std::string input(65, 'x');
  for (auto _ : state) benchmark::DoNotOptimize(Sha256(AsBytes(input)));
  state.SetItemsProcessed(state.iterations());
}

void BM_NodeHash(benchmark::State& state) {
  ledger::Hash a = ledger::LeafHash(std::string("a"));
  const ledger::Hash b = ledger::LeafHash(std::string("b"));
  for (auto _ : state) {
    a = ledger::NodeHash(a, b);
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_MemoryTreeAppend(benchmark::State& state) {
  ledger::MemoryTree tree;
  uint64_t i = 0;
  for (auto _ : state) tree.Append(ledger::LeafHash(std::to_string(i++)));
  state.SetItemsProcessed(state.iterations());
}

void BM_StoreAppend(benchmark::State& state) {
  Fixture& f = Fixture::Get();
  uint64_t i = f.size;
  for (auto _ : state) {
    auto appended = f.ledger->Append(ledger::EntryKind::kDataDestroyed, Fields(i++));
    if (!appended) state.SkipWithError(appended.error().message.c_str());
  }
  f.size = i;
  state.SetItemsProcessed(state.iterations());
}

void BM_InclusionProof1M(benchmark::State& state) {
  Fixture& f = Fixture::Get();
  std::mt19937_64 random(42);
  for (auto _ : state) {
    auto proof = f.ledger->InclusionProof(random() % kEntries, kEntries);
    if (!proof) state.SkipWithError(proof.error().message.c_str());
    benchmark::DoNotOptimize(proof);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ConsistencyProof1M(benchmark::State& state) {
  Fixture& f = Fixture::Get();
  std::mt19937_64 random(7);
  for (auto _ : state) {
    auto proof = f.ledger->ConsistencyProof(1 + random() % (kEntries - 1), kEntries);
    if (!proof) state.SkipWithError(proof.error().message.c_str());
    benchmark::DoNotOptimize(proof);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Root1M(benchmark::State& state) {
  Fixture& f = Fixture::Get();
  for (auto _ : state) {
    auto root = f.ledger->Root(kEntries);
    if (!root) state.SkipWithError(root.error().message.c_str());
    benchmark::DoNotOptimize(root);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_VerifyInclusion1M(benchmark::State& state) {
  Fixture& f = Fixture::Get();
  const uint64_t index = 123457;
  const auto proof = *f.ledger->InclusionProof(index, kEntries);
  const auto root = *f.ledger->Root(kEntries);
  const auto leaf_hex = f.ledger->Entries(index, 1)->front().leaf_hash_hex;
  ledger::Hash leaf{};
  ledger::ParseHash(leaf_hex, &leaf);
  for (auto _ : state) {
    if (!ledger::VerifyInclusion(index, kEntries, leaf, proof, root)) state.SkipWithError("proof does not verify");
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_Sha256_65B);
BENCHMARK(BM_Sha256_300B);
BENCHMARK(BM_Sha256_1MiB);
BENCHMARK(BM_Sha256Evp_65B);
BENCHMARK(BM_NodeHash);
BENCHMARK(BM_MemoryTreeAppend);
BENCHMARK(BM_InclusionProof1M);
BENCHMARK(BM_ConsistencyProof1M);
BENCHMARK(BM_Root1M);
BENCHMARK(BM_VerifyInclusion1M);
// Real time: an append waits for its fsync, not for the CPU.
BENCHMARK(BM_StoreAppend)->UseRealTime()->Iterations(2000);

}  // namespace

BENCHMARK_MAIN();
