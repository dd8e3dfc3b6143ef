// ledger: the tamper-evident notice ledger. Start here for ledger/.
//
// An append-only Merkle log (RFC 9162 hashing, ledger/merkle.h) of what was
// asked of and done by the operator: preservation requests, holds,
// retention, deletion notices and their delivery and acknowledgement,
// provider retirement, data destroyed (ledger/entry.h lists the kinds and
// their fields). The log lives in the metadata store (schema v5); tree
// heads are signed with the cluster's Ed25519 ledger key
// (ledger/signing.h). Anyone with an export (`holdfast ledger export`) can
// check all of it offline (ledger/verify.h, tools/ledger_verify.py); the
// format is docs/ledger.md.
//
// For code that records something (holds, Object Lock, retirement,
// deletion notices): GatewayContext::ledger is the gateway's Ledger. Call
//
//   auto appended = ctx.ledger->Append(ledger::EntryKind::kHoldPlaced,
//                                      {{"hold_id", id}, {"scope", "bucket:b"}});
//
// from the blocking pool (net::RunBlocking: it writes SQLite and fsyncs),
// ideally *before* the action it records takes effect, so that a crash in
// between leaves a record of an intent rather than an unrecorded act. Use
// AppendWithReceipt when the caller must get proof back at once (someone
// filed a request or a notice). Appends cost one small transaction with
// O(log n) rows; nothing here is on the path of ordinary PUTs.
//
// Thread-safety: every method may be called from any thread. Appends and
// head signing are serialised by a mutex; reads go straight to the store.
// Several gateways sharing one store stay correct: an append computed
// against a stale tree is refused by the store (kConflict) and redone.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "ledger/entry.h"
#include "ledger/merkle.h"
#include "ledger/signing.h"
#include "meta/meta_store.h"

namespace holdfast::ledger {

struct AppendedEntry {
  Entry entry;
  std::string canonical;  // the bytes hashed into the tree
  Hash leaf_hash{};
};

// What a filer gets back: the entry, where it is, a signed tree head that
// includes it and the proof of that. Verifiable offline with the public key
// alone; later, a consistency proof from tree_head to any newer head shows
// the entry was never dropped.
struct Receipt {
  AppendedEntry appended;
  TreeHead tree_head;
  std::vector<Hash> inclusion_proof;
  PublicKey public_key{};
};

// docs/ledger.md "Receipts": {"entry": {...}, "index", "leaf_hash",
// "tree_head": {...}, "inclusion_proof": [hex...], "public_key", "key_id"}.
nlohmann::json ReceiptToJson(const Receipt& receipt);

struct StoredTreeHead {
  int64_t seq = 0;  // signing order
  TreeHead head;
};

class Ledger {
 public:
  // `store`, `clock` must outlive the Ledger.
  Ledger(meta::MetaStore& store, SigningKey key, const Clock& clock);

  // Validates and appends one entry (index and timestamp chosen here) in one
  // store transaction. kInvalidArgument (naming the field) for fields that
  // do not fit the kind; for notice_delivery and acknowledgement also when
  // notice_index does not name an earlier notice, and for acknowledgement
  // when the recipient's signature does not verify. kIo etc. from the store.
  Result<AppendedEntry> Append(EntryKind kind, const nlohmann::json& fields);
  // Append, then sign a fresh tree head and prove the entry is in it.
  Result<Receipt> AppendWithReceipt(EntryKind kind, const nlohmann::json& fields);

  // Signs and stores a head for the log as it is now (also when a head of
  // this size exists: a fresh timestamp shows the log is still live).
  Result<TreeHead> SignTreeHead();
  // Signs one only if the log grew since the latest head (or none exists).
  Result<std::optional<TreeHead>> SignTreeHeadIfGrown();
  Result<std::optional<TreeHead>> LatestTreeHead();
  Result<std::optional<TreeHead>> TreeHeadOfSize(uint64_t tree_size);
  Result<std::vector<StoredTreeHead>> TreeHeads(int64_t after_seq, int limit);

  Result<uint64_t> Size();
  Result<std::vector<meta::LedgerEntryRecord>> Entries(uint64_t first, int limit);
  // kInvalidArgument when the sizes or index are beyond the log.
  Result<Hash> Root(uint64_t tree_size);
  Result<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t tree_size);
  Result<std::vector<Hash>> ConsistencyProof(uint64_t first, uint64_t second);

  const PublicKey& public_key() const { return key_.public_key(); }

 private:
  // The complete subtrees of the whole log (Decompose({0, size})), largest
  // first: all an append needs to compute the nodes it completes, and the
  // current root is their fold. Guarded by mu_.
  struct Frontier {
    uint64_t size = 0;
    std::vector<std::pair<SubtreeId, Hash>> subtrees;
  };

  Status CheckReferences(EntryKind kind, const nlohmann::json& fields);
  Status LoadFrontier();  // mu_ held
  Result<TreeHead> SignLocked(bool only_if_grown, bool* signed_one);  // mu_ held
  Result<std::vector<Hash>> Fetch(const std::vector<SubtreeId>& ids);

  meta::MetaStore& store_;
  const SigningKey key_;
  const Clock& clock_;
  std::mutex mu_;
  std::optional<Frontier> frontier_;  // nullopt: reload from the store
};

}  // namespace holdfast::ledger
