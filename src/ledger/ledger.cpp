#include "ledger/ledger.h"

#include <algorithm>

namespace holdfast::ledger {
namespace {

using nlohmann::json;

// Retries of an append that lost a race with another gateway's append.
constexpr int kAppendAttempts = 5;

meta::LedgerNodeId ToNodeId(const SubtreeId& id) { return {id.level, id.index}; }

Result<Hash> HashFromHex(const std::string& hex, const std::string& what) {
  Hash hash{};
  if (!ParseHash(hex, &hash)) return MakeError(Errc::kCorrupt, "ledger: stored " + what + " is not a hash");
  return hash;
}

Result<TreeHead> HeadFromRecord(const meta::LedgerTreeHeadRecord& record) {
  TreeHead head;
  head.tree_size = record.tree_size;
  head.timestamp_ms = record.timestamp_ms;
  if (!ParseHash(record.root_hash_hex, &head.root_hash) ||
      !ParseHash(record.previous_hash_hex, &head.previous_head_hash) ||
      !ParseSignature(record.signature_hex, &head.signature)) {
    return MakeError(Errc::kCorrupt, "ledger: stored tree head " + std::to_string(record.seq) + " is malformed");
  }
  return head;
}

Result<std::optional<TreeHead>> OptionalHead(Result<std::optional<meta::LedgerTreeHeadRecord>> record) {
  if (!record) return record.error();
  if (!record->has_value()) return std::optional<TreeHead>();
  auto head = HeadFromRecord(**record);
  if (!head) return head.error();
  return std::optional<TreeHead>(*head);
}

}  // namespace

json ReceiptToJson(const Receipt& receipt) {
  json proof = json::array();
  for (const Hash& hash : receipt.inclusion_proof) proof.push_back(ToHex(hash));
  json out = json::object();
  out["entry"] = EntryToJson(receipt.appended.entry);
  out["index"] = receipt.appended.entry.index;
  out["leaf_hash"] = ToHex(receipt.appended.leaf_hash);
  out["tree_head"] = TreeHeadToJson(receipt.tree_head);
  out["inclusion_proof"] = std::move(proof);
  out["public_key"] = HexOf(receipt.public_key);
  out["key_id"] = KeyId(receipt.public_key);
  return out;
}

Ledger::Ledger(meta::MetaStore& store, SigningKey key, const Clock& clock)
    : store_(store), key_(std::move(key)), clock_(clock) {}

Result<std::vector<Hash>> Ledger::Fetch(const std::vector<SubtreeId>& ids) {
  std::vector<meta::LedgerNodeId> node_ids;
  node_ids.reserve(ids.size());
  for (const SubtreeId& id : ids) node_ids.push_back(ToNodeId(id));
  auto hex = store_.LedgerSubtreeHashes(node_ids);
  if (!hex) return hex.error();
  std::vector<Hash> hashes;
  hashes.reserve(hex->size());
  for (const std::string& h : *hex) {
    auto hash = HashFromHex(h, "subtree hash");
    if (!hash) return hash.error();
    hashes.push_back(*hash);
  }
  return hashes;
}

Status Ledger::LoadFrontier() {
  auto size = store_.LedgerSize();
  if (!size) return size.error();
  Frontier frontier;
  frontier.size = *size;
  if (*size > 0) {
    std::vector<SubtreeId> ids = Decompose({0, *size});
    auto hashes = Fetch(ids);
    if (!hashes) return hashes.error();
    for (size_t i = 0; i < ids.size(); ++i) frontier.subtrees.emplace_back(ids[i], (*hashes)[i]);
  }
  frontier_ = std::move(frontier);
  return Status::Ok();
}

Status Ledger::CheckReferences(EntryKind kind, const json& fields) {
  if (kind != EntryKind::kNoticeDelivery && kind != EntryKind::kAcknowledgement) return Status::Ok();
  const uint64_t notice_index = fields.at("notice_index").get<uint64_t>();
  auto records = store_.LedgerEntries(notice_index, 1);
  if (!records) return records.error();
  if (records->empty() || records->front().index != notice_index) {
    return MakeError(Errc::kInvalidArgument, std::string(KindName(kind)) + ": notice_index " +
                                                 std::to_string(notice_index) + " is not in the ledger");
  }
  const auto notice_kind = ParseKind(records->front().kind);
  if (!notice_kind || !IsNoticeKind(*notice_kind)) {
    return MakeError(Errc::kInvalidArgument, std::string(KindName(kind)) + ": entry " +
                                                 std::to_string(notice_index) + " is a " + records->front().kind +
                                                 ", not a notice or request");
  }
  if (kind != EntryKind::kAcknowledgement) return Status::Ok();
  PublicKey recipient{};
  Signature signature{};
  Hash notice_leaf{};
  // ValidateFields checked the hex shapes already.
  ParsePublicKey(fields.at("recipient_public_key").get<std::string>(), &recipient);
  ParseSignature(fields.at("signature").get<std::string>(), &signature);
  auto leaf = HashFromHex(records->front().leaf_hash_hex, "leaf hash");
  if (!leaf) return leaf.error();
  notice_leaf = *leaf;
  if (!VerifySignature(recipient, AcknowledgementMessage(notice_leaf), signature)) {
    return MakeError(Errc::kInvalidArgument,
                     "acknowledgement: the signature does not verify with recipient_public_key over entry " +
                         std::to_string(notice_index) + "'s leaf hash (" + ToHex(notice_leaf) + ")");
  }
  return Status::Ok();
}

Result<AppendedEntry> Ledger::Append(EntryKind kind, const json& fields) {
  Status valid = ValidateFields(kind, fields);
  if (!valid) return valid.error();
  // Entries never change once written, so the referenced notice can be
  // checked outside the lock.
  Status references = CheckReferences(kind, fields);
  if (!references) return references.error();

  std::lock_guard lock(mu_);
  for (int attempt = 0; attempt < kAppendAttempts; ++attempt) {
    if (!frontier_) {
      Status loaded = LoadFrontier();
      if (!loaded) return loaded.error();
    }
    AppendedEntry appended;
    appended.entry.index = frontier_->size;
    appended.entry.kind = kind;
    appended.entry.timestamp_ms = clock_.NowUnixMs();
    appended.entry.fields = fields;
    auto canonical = SerializeEntry(appended.entry);
    if (!canonical) return canonical.error();
    appended.canonical = std::move(*canonical);
    appended.leaf_hash = LeafHash(appended.canonical);

    // The new leaf completes one subtree per trailing one-bit of its index,
    // each the node of the frontier's smallest subtree and the new one.
    Frontier next = *frontier_;
    SubtreeId id{0, appended.entry.index};
    Hash hash = appended.leaf_hash;
    std::vector<meta::LedgerNodeRecord> completed;
    while ((id.index & 1) != 0) {
      const auto& [left_id, left_hash] = next.subtrees.back();
      if (left_id.level != id.level || left_id.index != id.index - 1) std::abort();  // broken invariant
      hash = NodeHash(left_hash, hash);
      next.subtrees.pop_back();
      id = {id.level + 1, id.index >> 1};
      completed.push_back({ToNodeId(id), ToHex(hash)});
    }
    next.subtrees.emplace_back(id, hash);
    next.size += 1;

    meta::LedgerEntryRecord record{appended.entry.index, KindName(kind), appended.entry.timestamp_ms,
                                   ToHex(appended.leaf_hash), appended.canonical};
    Status stored = store_.AppendLedgerEntry(record, completed);
    if (stored) {
      frontier_ = std::move(next);
      return appended;
    }
    frontier_.reset();  // re-read: another writer appended, or the store failed
    if (stored.error().code != Errc::kConflict) return stored.error();
  }
  return MakeError(Errc::kUnavailable, "ledger: the append kept losing races with other writers");
}

Result<TreeHead> Ledger::SignLocked(bool only_if_grown, bool* signed_one) {
  *signed_one = false;
  for (int attempt = 0; attempt < kAppendAttempts; ++attempt) {
    // Reload every time: another gateway may have appended since.
    Status loaded = LoadFrontier();
    if (!loaded) return loaded.error();
    auto latest = OptionalHead(store_.LatestLedgerTreeHead());
    if (!latest) return latest.error();
    if (only_if_grown && latest->has_value() && (*latest)->tree_size == frontier_->size) return **latest;
    std::vector<Hash> hashes;
    for (const auto& [id, hash] : frontier_->subtrees) hashes.push_back(hash);
    const Hash root = hashes.empty() ? EmptyTreeHash() : FoldSubtrees(hashes);
    // Never older than the latest head, even if the wall clock stepped back.
    int64_t timestamp_ms = clock_.NowUnixMs();
    if (latest->has_value()) timestamp_ms = std::max(timestamp_ms, (*latest)->timestamp_ms);
    // Each head names the one before it, so none can be dropped unseen.
    const Hash previous = latest->has_value() ? TreeHeadHash(**latest) : Hash{};
    const TreeHead head = ::holdfast::ledger::SignTreeHead(key_, frontier_->size, timestamp_ms, root, previous);
    meta::LedgerTreeHeadRecord record{0, head.tree_size, head.timestamp_ms, ToHex(head.root_hash),
                                      ToHex(head.previous_head_hash), ToHex(TreeHeadHash(head)),
                                      HexOf(head.signature)};
    auto stored = store_.AddLedgerTreeHead(record);
    if (stored) {
      *signed_one = true;
      return head;
    }
    if (stored.error().code != Errc::kConflict) return stored.error();
  }
  return MakeError(Errc::kUnavailable, "ledger: signing a tree head kept losing races with other writers");
}

Result<TreeHead> Ledger::SignTreeHead() {
  std::lock_guard lock(mu_);
  bool signed_one = false;
  return SignLocked(false, &signed_one);
}

Result<std::optional<TreeHead>> Ledger::SignTreeHeadIfGrown() {
  std::lock_guard lock(mu_);
  bool signed_one = false;
  auto head = SignLocked(true, &signed_one);
  if (!head) return head.error();
  if (!signed_one) return std::optional<TreeHead>();
  return std::optional<TreeHead>(*head);
}

Result<Receipt> Ledger::AppendWithReceipt(EntryKind kind, const json& fields) {
  auto appended = Append(kind, fields);
  if (!appended) return appended.error();
  auto head = SignTreeHead();  // covers the entry: the log only grows
  if (!head) return head.error();
  auto proof = InclusionProof(appended->entry.index, head->tree_size);
  if (!proof) return proof.error();
  Receipt receipt{std::move(*appended), *head, std::move(*proof), key_.public_key()};
  // Checked before it is handed out: a receipt that does not verify would
  // be worse than an error.
  if (!VerifyInclusion(receipt.appended.entry.index, head->tree_size, receipt.appended.leaf_hash,
                       receipt.inclusion_proof, head->root_hash)) {
    return MakeError(Errc::kInternal, "ledger: the receipt's inclusion proof does not verify");
  }
  return receipt;
}

Result<std::optional<TreeHead>> Ledger::LatestTreeHead() { return OptionalHead(store_.LatestLedgerTreeHead()); }

Result<std::optional<TreeHead>> Ledger::TreeHeadOfSize(uint64_t tree_size) {
  return OptionalHead(store_.LedgerTreeHeadOfSize(tree_size));
}

Result<std::vector<StoredTreeHead>> Ledger::TreeHeads(int64_t after_seq, int limit) {
  auto records = store_.LedgerTreeHeads(after_seq, limit);
  if (!records) return records.error();
  std::vector<StoredTreeHead> heads;
  for (const auto& record : *records) {
    auto head = HeadFromRecord(record);
    if (!head) return head.error();
    heads.push_back({record.seq, *head});
  }
  return heads;
}

Result<uint64_t> Ledger::Size() { return store_.LedgerSize(); }

Result<std::vector<meta::LedgerEntryRecord>> Ledger::Entries(uint64_t first, int limit) {
  return store_.LedgerEntries(first, limit);
}

Result<Hash> Ledger::Root(uint64_t tree_size) {
  auto size = store_.LedgerSize();
  if (!size) return size.error();
  if (tree_size > *size) {
    return MakeError(Errc::kInvalidArgument, "tree size " + std::to_string(tree_size) + " exceeds the log's " +
                                                 std::to_string(*size) + " entries");
  }
  if (tree_size == 0) return EmptyTreeHash();
  auto hashes = ResolveRanges({{0, tree_size}}, [this](const auto& ids) { return Fetch(ids); });
  if (!hashes) return hashes.error();
  return (*hashes)[0];
}

Result<std::vector<Hash>> Ledger::InclusionProof(uint64_t index, uint64_t tree_size) {
  auto size = store_.LedgerSize();
  if (!size) return size.error();
  if (tree_size > *size || index >= tree_size) {
    return MakeError(Errc::kInvalidArgument, "no entry " + std::to_string(index) + " in a tree of " +
                                                 std::to_string(tree_size) + " entries (the log holds " +
                                                 std::to_string(*size) + ")");
  }
  return ResolveRanges(InclusionProofRanges(index, tree_size), [this](const auto& ids) { return Fetch(ids); });
}

Result<std::vector<Hash>> Ledger::ConsistencyProof(uint64_t first, uint64_t second) {
  auto size = store_.LedgerSize();
  if (!size) return size.error();
  if (first > second || second > *size) {
    return MakeError(Errc::kInvalidArgument, "no consistency proof from " + std::to_string(first) + " to " +
                                                 std::to_string(second) + " entries (the log holds " +
                                                 std::to_string(*size) + ")");
  }
  return ResolveRanges(ConsistencyProofRanges(first, second), [this](const auto& ids) { return Fetch(ids); });
}

}  // namespace holdfast::ledger
