// Offline verification of an exported ledger and of receipts: what
// `holdfast ledger verify` and `verify-receipt` run, with no gateway. The
// Python verifier (tools/ledger_verify.py) implements the same checks in
// the same order, so both name the same places (docs/ledger.md,
// "Verifying").
//
// An export is a directory (docs/ledger.md "Export"):
//   public_key.json   {"algorithm": "ed25519", "public_key": hex, "key_id"}
//   entries.jsonl     entry i's canonical bytes on line i (0-based), '\n' after each
//   tree_heads.jsonl  one signed tree head per line, in signing order
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "ledger/signing.h"

namespace holdfast::ledger {

inline constexpr const char* kEntriesFile = "entries.jsonl";
inline constexpr const char* kTreeHeadsFile = "tree_heads.jsonl";
inline constexpr const char* kPublicKeyFile = "public_key.json";

struct ExportedLog {
  PublicKey public_key{};
  std::vector<std::string> entry_lines;  // without the '\n'
  std::vector<std::string> head_lines;
};

// Splits on '\n'; a final '\n' ends the last line rather than starting an
// empty one.
std::vector<std::string> SplitLines(const std::string& content);
// kNotFound / kIo naming the file that cannot be read; kCorrupt if
// public_key.json holds no Ed25519 key. `trusted_key` (if given) replaces
// the exported key: a verifier should pin the key it got out of band.
Result<ExportedLog> ReadExport(const std::filesystem::path& dir, const std::optional<PublicKey>& trusted_key);
// The file contents of an export (what `holdfast ledger export` writes).
std::string PublicKeyJson(const PublicKey& key);

// One problem found. `location` is "entry N" or "tree_head N" (N = the
// 0-based line in its file), "inclusion N" (--entry N), "consistency A B"
// (--consistency A B) or "receipt".
struct Finding {
  std::string location;
  std::string message;
};

struct VerifyOptions {
  std::optional<uint64_t> entry;                            // --entry N
  std::optional<std::pair<uint64_t, uint64_t>> consistency;  // --consistency A B
};

struct VerifyReport {
  uint64_t entries = 0;
  uint64_t tree_heads = 0;
  std::vector<Finding> errors;
  std::optional<TreeHead> latest_valid_head;  // the last head that passed every check
  nlohmann::json inclusion;    // --entry's proof, null if not asked or failed
  nlohmann::json consistency;  // --consistency's or a receipt's proof, null likewise
  bool ok() const { return errors.empty(); }
};

VerifyReport VerifyLog(const ExportedLog& log, const VerifyOptions& options);

// Checks a receipt (ledger.h ReceiptToJson) on its own: its entry is valid
// and canonical, its tree head is signed by its key (or by `trusted_key`,
// which must then be the receipt's), and the inclusion proof holds. With
// `log`, also that the log still holds the entry unchanged at its index and
// that the log's history up to the receipt's head is the one signed (the
// operator did not drop or rewrite it), proven by a consistency proof to
// the log's latest valid head; the log's own checks are included.
VerifyReport VerifyReceipt(const nlohmann::json& receipt, const std::optional<PublicKey>& trusted_key,
                           const ExportedLog* log);

// {"ok", "entries", "tree_heads", "latest_tree_head", "errors": [{"location",
// "message"}], "inclusion", "consistency"}: identical in shape to the
// Python verifier's --json output.
nlohmann::json ReportToJson(const VerifyReport& report);
// The human-readable report: one line per error, then a summary.
std::string ReportToText(const VerifyReport& report);

}  // namespace holdfast::ledger
