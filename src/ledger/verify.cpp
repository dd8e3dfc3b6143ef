#include "ledger/verify.h"

#include <fstream>
#include <sstream>

#include "ledger/entry.h"
#include "ledger/merkle.h"

namespace holdfast::ledger {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Result<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(Errc::kNotFound, "cannot read " + path.string());
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return MakeError(Errc::kIo, "cannot read " + path.string());
  return content.str();
}

json HashList(const std::vector<Hash>& hashes) {
  json out = json::array();
  for (const Hash& hash : hashes) out.push_back(ToHex(hash));
  return out;
}

std::string Where(const char* what, uint64_t n) { return std::string(what) + " " + std::to_string(n); }

// The entry checks of VerifyLog; fills `parsed` for entries that pass.
void CheckEntries(const ExportedLog& log, const std::vector<Hash>& leaves, std::vector<std::optional<Entry>>* parsed,
                  std::vector<Finding>* errors) {
  for (size_t i = 0; i < log.entry_lines.size(); ++i) {
    const std::string where = Where("entry", i);
    auto entry = ParseEntry(log.entry_lines[i]);
    if (!entry) {
      errors->push_back({where, entry.error().message});
      continue;
    }
    if (entry->index != i) {
      errors->push_back({where, "claims index " + std::to_string(entry->index) + " but is entry " +
                                    std::to_string(i) + " of the log (entries removed, inserted or reordered)"});
      continue;
    }
    if (entry->kind == EntryKind::kNoticeDelivery || entry->kind == EntryKind::kAcknowledgement) {
      const uint64_t notice = entry->fields.at("notice_index").get<uint64_t>();
      if (notice >= i) {
        errors->push_back({where, "notice_index " + std::to_string(notice) + " is not an earlier entry"});
        continue;
      }
      if (!(*parsed)[notice]) {
        errors->push_back({where, "refers to entry " + std::to_string(notice) + ", which is itself invalid"});
        continue;
      }
      if (!IsNoticeKind((*parsed)[notice]->kind)) {
        errors->push_back({where, "refers to entry " + std::to_string(notice) + ", a " +
                                      KindName((*parsed)[notice]->kind) + ", not a notice or request"});
        continue;
      }
      if (entry->kind == EntryKind::kAcknowledgement) {
        PublicKey recipient{};
        Signature signature{};
        ParsePublicKey(entry->fields.at("recipient_public_key").get<std::string>(), &recipient);
        ParseSignature(entry->fields.at("signature").get<std::string>(), &signature);
        if (!VerifySignature(recipient, AcknowledgementMessage(leaves[notice]), signature)) {
          errors->push_back({where, "the recipient's signature over entry " + std::to_string(notice) +
                                        "'s leaf hash does not verify"});
          continue;
        }
      }
    }
    (*parsed)[i] = std::move(*entry);
  }
}

// The tree-head checks of VerifyLog; returns the last head that passed.
std::optional<TreeHead> CheckHeads(const ExportedLog& log, const MemoryTree& tree, std::vector<Finding>* errors,
                                   std::vector<std::pair<uint64_t, TreeHead>>* valid_heads) {
  std::optional<TreeHead> previous;
  uint64_t previous_line = 0;
  // The head on the line before, if it parsed: the chain's expected link.
  std::optional<Hash> line_before = Hash{};
  for (size_t j = 0; j < log.head_lines.size(); ++j) {
    const std::string where = Where("tree_head", j);
    const json parsed = json::parse(log.head_lines[j], nullptr, false);
    auto head = TreeHeadFromJson(parsed);
    const std::optional<Hash> expected_previous = line_before;
    line_before = head ? std::optional<Hash>(TreeHeadHash(*head)) : std::nullopt;
    if (!head) {
      errors->push_back({where, "not a tree head: " + head.error().message});
      continue;
    }
    const std::string size = std::to_string(head->tree_size);
    if (!VerifyTreeHead(log.public_key, *head)) {
      errors->push_back({where, "the signature does not verify (tree_size " + size + ", timestamp_ms " +
                                    std::to_string(head->timestamp_ms) + ")"});
      continue;
    }
    if (expected_previous && head->previous_head_hash != *expected_previous) {
      errors->push_back({where, j == 0 ? std::string("names a previous tree head, but is the first in the file "
                                                     "(tree heads removed from the start)")
                                       : "does not follow tree_head " + std::to_string(j - 1) +
                                             " (tree heads removed, inserted or reordered)"});
      continue;
    }
    if (head->tree_size > tree.size()) {
      errors->push_back({where, "signed for " + size + " entries but the log holds only " +
                                    std::to_string(tree.size()) + " (entries removed from the end)"});
      continue;
    }
    if (*tree.Root(head->tree_size) != head->root_hash) {
      // The newest valid head below this size bounds where the change is.
      uint64_t matching = 0;
      for (const auto& [line, valid] : *valid_heads) {
        if (valid.tree_size < head->tree_size) matching = std::max(matching, valid.tree_size);
      }
      errors->push_back({where, "the root hash signed for " + size +
                                    " entries does not match the log's: an entry among " +
                                    std::to_string(matching) + ".." + std::to_string(head->tree_size - 1) +
                                    " was changed, removed or reordered"});
      continue;
    }
    if (previous && (head->tree_size < previous->tree_size || head->timestamp_ms < previous->timestamp_ms)) {
      errors->push_back({where, "is smaller or older than tree_head " + std::to_string(previous_line) +
                                    " before it (tree heads reordered)"});
      continue;
    }
    previous = *head;
    previous_line = j;
    valid_heads->emplace_back(j, *head);
  }
  return previous;
}

// The latest valid head of exactly `size` entries.
const TreeHead* HeadOfSize(const std::vector<std::pair<uint64_t, TreeHead>>& valid_heads, uint64_t size) {
  const TreeHead* found = nullptr;
  for (const auto& [line, head] : valid_heads) {
    if (head.tree_size == size) found = &head;
  }
  return found;
}

void CheckInclusion(uint64_t index, const MemoryTree& tree, const std::vector<Hash>& leaves,
                    const std::optional<TreeHead>& latest, VerifyReport* report) {
  const std::string where = Where("inclusion", index);
  if (index >= tree.size()) {
    report->errors.push_back({where, "the log holds only " + std::to_string(tree.size()) + " entries"});
    return;
  }
  if (!latest || latest->tree_size <= index) {
    report->errors.push_back({where, "no valid tree head covers entry " + std::to_string(index)});
    return;
  }
  auto proof = tree.InclusionProof(index, latest->tree_size);
  if (!proof || !VerifyInclusion(index, latest->tree_size, leaves[index], *proof, latest->root_hash)) {
    report->errors.push_back({where, "the inclusion proof does not verify"});
    return;
  }
  report->inclusion = {{"index", index},
                       {"tree_size", latest->tree_size},
                       {"leaf_hash", ToHex(leaves[index])},
                       {"root_hash", ToHex(latest->root_hash)},
                       {"proof", HashList(*proof)}};
}

void CheckConsistency(uint64_t first, uint64_t second, const MemoryTree& tree,
                      const std::vector<std::pair<uint64_t, TreeHead>>& valid_heads, VerifyReport* report) {
  const std::string where = "consistency " + std::to_string(first) + " " + std::to_string(second);
  const TreeHead* a = HeadOfSize(valid_heads, first);
  const TreeHead* b = HeadOfSize(valid_heads, second);
  if (first > second || a == nullptr || b == nullptr) {
    report->errors.push_back({where, first > second ? "the first size must not exceed the second"
                                                    : "no valid tree head of " +
                                                          std::to_string(a == nullptr ? first : second) +
                                                          " entries in the export"});
    return;
  }
  auto proof = tree.ConsistencyProof(first, second);
  if (!proof || !VerifyConsistency(first, second, a->root_hash, b->root_hash, *proof)) {
    report->errors.push_back({where, "the consistency proof does not verify"});
    return;
  }
  report->consistency = {{"first", first},
                         {"second", second},
                         {"first_root_hash", ToHex(a->root_hash)},
                         {"second_root_hash", ToHex(b->root_hash)},
                         {"proof", HashList(*proof)}};
}

struct LogState {
  std::vector<Hash> leaves;
  MemoryTree tree;
  std::vector<std::pair<uint64_t, TreeHead>> valid_heads;
};

VerifyReport VerifyLogInto(const ExportedLog& log, const VerifyOptions& options, LogState* state) {
  VerifyReport report;
  report.entries = log.entry_lines.size();
  report.tree_heads = log.head_lines.size();
  for (const std::string& line : log.entry_lines) {
    state->leaves.push_back(LeafHash(line));
    state->tree.Append(state->leaves.back());
  }
  std::vector<std::optional<Entry>> parsed(log.entry_lines.size());
  CheckEntries(log, state->leaves, &parsed, &report.errors);
  report.latest_valid_head = CheckHeads(log, state->tree, &report.errors, &state->valid_heads);
  if (options.entry) CheckInclusion(*options.entry, state->tree, state->leaves, report.latest_valid_head, &report);
  if (options.consistency) {
    CheckConsistency(options.consistency->first, options.consistency->second, state->tree, state->valid_heads,
                     &report);
  }
  return report;
}

}  // namespace

std::vector<std::string> SplitLines(const std::string& content) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < content.size()) {
    const size_t end = content.find('\n', start);
    if (end == std::string::npos) {
      lines.push_back(content.substr(start));
      break;
    }
    lines.push_back(content.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::string PublicKeyJson(const PublicKey& key) {
  json out = {{"algorithm", "ed25519"}, {"public_key", HexOf(key)}, {"key_id", KeyId(key)}};
  return out.dump(2) + "\n";
}

Result<ExportedLog> ReadExport(const fs::path& dir, const std::optional<PublicKey>& trusted_key) {
  ExportedLog log;
  if (trusted_key) {
    log.public_key = *trusted_key;
  } else {
    auto key_file = ReadFile(dir / kPublicKeyFile);
    if (!key_file) return key_file.error();
    const json key = json::parse(*key_file, nullptr, false);
    if (!key.is_object() || !key.contains("algorithm") || key["algorithm"] != "ed25519" || !key.contains("public_key") ||
        !key["public_key"].is_string() || !ParsePublicKey(key["public_key"].get<std::string>(), &log.public_key)) {
      return MakeError(Errc::kCorrupt, (dir / kPublicKeyFile).string() + " holds no Ed25519 public key");
    }
  }
  auto entries = ReadFile(dir / kEntriesFile);
  if (!entries) return entries.error();
  auto heads = ReadFile(dir / kTreeHeadsFile);
  if (!heads) return heads.error();
  log.entry_lines = SplitLines(*entries);
  log.head_lines = SplitLines(*heads);
  return log;
}

VerifyReport VerifyLog(const ExportedLog& log, const VerifyOptions& options) {
  LogState state;
  return VerifyLogInto(log, options, &state);
}

VerifyReport VerifyReceipt(const json& receipt, const std::optional<PublicKey>& trusted_key, const ExportedLog* log) {
  VerifyReport report;
  LogState state;
  if (log) report = VerifyLogInto(*log, {}, &state);
  auto fail = [&](const std::string& message) {
    report.errors.push_back({"receipt", message});
    return report;
  };
  if (!receipt.is_object()) return fail("not a JSON object");
  PublicKey key{};
  if (!receipt.contains("public_key") || !receipt["public_key"].is_string() ||
      !ParsePublicKey(receipt["public_key"].get<std::string>(), &key)) {
    return fail("'public_key' is missing or not 64 hex digits");
  }
  if (trusted_key && *trusted_key != key) return fail("signed with key " + KeyId(key) + ", not the trusted key " + KeyId(*trusted_key));
  if (log && log->public_key != key) return fail("signed with key " + KeyId(key) + ", not the log's key " + KeyId(log->public_key));
  if (!receipt.contains("entry") || !receipt["entry"].is_object()) return fail("'entry' is missing");
  auto canonical = Canonicalize(receipt["entry"]);
  if (!canonical) return fail("the entry cannot be canonicalised: " + canonical.error().message);
  auto entry = ParseEntry(*canonical);
  if (!entry) return fail("the entry is invalid: " + entry.error().message);
  if (!receipt.contains("index") || !receipt["index"].is_number_integer() || receipt["index"].get<int64_t>() < 0 ||
      receipt["index"].get<uint64_t>() != entry->index) {
    return fail("'index' is missing or differs from the entry's index");
  }
  const Hash leaf = LeafHash(*canonical);
  if (receipt.contains("leaf_hash") && receipt["leaf_hash"] != ToHex(leaf)) {
    return fail("'leaf_hash' is not the hash of the entry");
  }
  auto head = TreeHeadFromJson(receipt.value("tree_head", json()));
  if (!head) return fail("tree_head: " + head.error().message);
  if (!VerifyTreeHead(key, *head)) return fail("the tree head's signature does not verify");
  std::vector<Hash> proof;
  const json proof_json = receipt.value("inclusion_proof", json());
  if (!proof_json.is_array()) return fail("'inclusion_proof' is missing");
  for (const json& item : proof_json) {
    Hash hash{};
    if (!item.is_string() || !ParseHash(item.get<std::string>(), &hash)) return fail("'inclusion_proof' holds a non-hash");
    proof.push_back(hash);
  }
  if (!VerifyInclusion(entry->index, head->tree_size, leaf, proof, head->root_hash)) {
    return fail("the inclusion proof does not show entry " + std::to_string(entry->index) + " in the signed tree of " +
                std::to_string(head->tree_size) + " entries");
  }
  report.inclusion = {{"index", entry->index}, {"tree_size", head->tree_size}, {"leaf_hash", ToHex(leaf)},
                      {"root_hash", ToHex(head->root_hash)}, {"proof", HashList(proof)}};
  if (!log) return report;

  // Against the log: the entry is still there, unchanged, and the history
  // the receipt's head signed is a prefix of the log's.
  const std::string index = std::to_string(entry->index);
  if (entry->index >= log->entry_lines.size()) {
    return fail("the log holds only " + std::to_string(log->entry_lines.size()) + " entries: entry " + index +
                " was dropped");
  }
  if (log->entry_lines[entry->index] != *canonical) return fail("the log's entry " + index + " differs from the receipt's");
  if (head->tree_size > state.tree.size() || *state.tree.Root(head->tree_size) != head->root_hash) {
    return fail("the log's first " + std::to_string(head->tree_size) +
                " entries are not the ones the receipt's tree head signed: history was rewritten");
  }
  if (!report.latest_valid_head || report.latest_valid_head->tree_size < head->tree_size) {
    return fail("the log has no valid tree head at or after the receipt's (" + std::to_string(head->tree_size) +
                " entries)");
  }
  const TreeHead& later = *report.latest_valid_head;
  auto consistency = state.tree.ConsistencyProof(head->tree_size, later.tree_size);
  if (!consistency || !VerifyConsistency(head->tree_size, later.tree_size, head->root_hash, later.root_hash, *consistency)) {
    return fail("the log's latest tree head is not consistent with the receipt's");
  }
  report.consistency = {{"first", head->tree_size},
                        {"second", later.tree_size},
                        {"first_root_hash", ToHex(head->root_hash)},
                        {"second_root_hash", ToHex(later.root_hash)},
                        {"proof", HashList(*consistency)}};
  return report;
}

json ReportToJson(const VerifyReport& report) {
  json errors = json::array();
  for (const Finding& finding : report.errors) {
    errors.push_back({{"location", finding.location}, {"message", finding.message}});
  }
  json out = json::object();
  out["ok"] = report.ok();
  out["entries"] = report.entries;
  out["tree_heads"] = report.tree_heads;
  out["latest_tree_head"] = report.latest_valid_head ? TreeHeadToJson(*report.latest_valid_head) : json();
  out["errors"] = std::move(errors);
  out["inclusion"] = report.inclusion;
  out["consistency"] = report.consistency;
  return out;
}

std::string ReportToText(const VerifyReport& report) {
  std::ostringstream out;
  for (const Finding& finding : report.errors) out << "FAIL " << finding.location << ": " << finding.message << "\n";
  out << report.entries << " entries, " << report.tree_heads << " tree heads";
  if (report.latest_valid_head) {
    out << "; latest valid tree head: " << report.latest_valid_head->tree_size << " entries, root "
        << ToHex(report.latest_valid_head->root_hash);
  }
  out << "\n";
  if (!report.inclusion.is_null()) {
    out << "entry " << report.inclusion["index"].get<uint64_t>() << " is in the signed tree of "
        << report.inclusion["tree_size"].get<uint64_t>() << " entries (proof of "
        << report.inclusion["proof"].size() << " hashes)\n";
  }
  if (!report.consistency.is_null()) {
    out << "the tree of " << report.consistency["first"].get<uint64_t>() << " entries is a prefix of the tree of "
        << report.consistency["second"].get<uint64_t>() << " entries (proof of "
        << report.consistency["proof"].size() << " hashes)\n";
  }
  out << (report.ok() ? "OK: the ledger verifies" : "FAILED: " + std::to_string(report.errors.size()) + " problem(s)")
      << "\n";
  return out.str();
}

}  // namespace holdfast::ledger
