// `holdfast ledger ...`: the notice ledger (docs/ledger.md).
//
//   head            the latest signed tree head (--sign: sign a fresh one)
//   export --out D  entries, tree heads and public key as files
//   verify D        offline checks of an export (no gateway needed)
//   file-request    file a preservation request; prints the signed receipt
//   verify-receipt  offline checks of a receipt, optionally against an export
//
// verify and verify-receipt exit 0 when everything holds, 1 when a check
// fails (each failure names the entry, tree head or proof), 2 when the input
// cannot be read; tools/ledger_verify.py does the same.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "ledger/verify.h"
#include "net/message.h"

namespace holdfast::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kExportPage = 5000;  // entries per request, far below the client's 16 MiB cap

std::string Timestamp(int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(text) + "." + std::to_string(1000 + unix_ms % 1000).substr(1) + "Z";
}

std::string HeadLine(const json& head) {
  return std::to_string(head["tree_size"].get<uint64_t>()) + " entries, root " +
         head["root_hash"].get<std::string>() + ", signed " + Timestamp(head["timestamp_ms"].get<int64_t>());
}

Result<json> ParseJson(const std::string& text, const std::string& what) {
  json parsed = json::parse(text, nullptr, false);
  if (parsed.is_discarded()) return MakeError(Errc::kInternal, "unexpected answer for " + what + ": " + text.substr(0, 200));
  return parsed;
}

Status WriteFile(const fs::path& path, const std::string& content) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) return MakeError(Errc::kIo, "cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return MakeError(Errc::kIo, "cannot rename " + tmp.string() + ": " + ec.message());
  return Status::Ok();
}

Result<std::string> ReadWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(Errc::kNotFound, "cannot read " + path.string());
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

// --- head ------------------------------------------------------------------------

int RunHead(const AdminOptions& options, bool sign) {
  auto admin = ResolveAdminTarget(options);
  if (!admin) {
    std::cerr << "holdfast ledger head: " << admin.error().message << "\n";
    return 2;
  }
  auto body = AdminRequest(*admin, sign ? "POST" : "GET", "/_holdfast/v1/ledger/head",
                           std::chrono::seconds(options.timeout_s));
  if (!body) {
    std::cerr << "holdfast ledger head: " << body.error().message << "\n";
    return 1;
  }
  if (options.json) {
    std::cout << *body << "\n";
    return 0;
  }
  auto reply = ParseJson(*body, "the tree head");
  if (!reply) {
    std::cerr << "holdfast ledger head: " << reply.error().message << "\n";
    return 1;
  }
  std::cout << "Ledger key " << reply->value("key_id", "?") << " (Ed25519 " << reply->value("public_key", "?") << ")\n"
            << "  entries now:      " << reply->value("tree_size", uint64_t{0}) << "\n";
  if ((*reply)["tree_head"].is_null()) {
    std::cout << "  latest tree head: none signed yet\n";
  } else {
    std::cout << "  latest tree head: " << HeadLine((*reply)["tree_head"]) << "\n"
              << "  signature:        " << (*reply)["tree_head"]["signature"].get<std::string>() << "\n";
  }
  return 0;
}

// --- export ----------------------------------------------------------------------

Result<std::pair<std::string, uint64_t>> FetchHeads(const AdminTarget& admin, std::chrono::seconds timeout) {
  std::string lines;
  uint64_t count = 0;
  int64_t after_seq = 0;
  while (true) {
    auto body = AdminGet(admin, "/_holdfast/v1/ledger/tree-heads?limit=" + std::to_string(kExportPage) +
                                    "&after_seq=" + std::to_string(after_seq), timeout);
    if (!body) return body.error();
    auto page = ParseJson(*body, "tree heads");
    if (!page) return page.error();
    const json& heads = (*page)["tree_heads"];
    for (json head : heads) {
      after_seq = head["seq"].get<int64_t>();
      head.erase("seq");  // storage order only; the file's order is the signing order
      lines += head.dump() + "\n";
      ++count;
    }
    if (heads.size() < static_cast<size_t>(kExportPage)) return std::make_pair(lines, count);
  }
}

Result<std::pair<std::string, uint64_t>> FetchEntries(const AdminTarget& admin, std::chrono::seconds timeout) {
  std::string content;
  uint64_t count = 0;
  while (true) {
    auto body = AdminGet(admin, "/_holdfast/v1/ledger/entries?limit=" + std::to_string(kExportPage) +
                                    "&first=" + std::to_string(count), timeout);
    if (!body) return body.error();
    // Verbatim: the bytes the gateway stores are the bytes that are checked.
    const uint64_t page = ledger::SplitLines(*body).size();
    content += *body;
    count += page;
    if (page < static_cast<uint64_t>(kExportPage)) return std::make_pair(content, count);
  }
}

int RunExport(const AdminOptions& options, const std::string& out_dir) {
  auto admin = ResolveAdminTarget(options);
  if (!admin) {
    std::cerr << "holdfast ledger export: " << admin.error().message << "\n";
    return 2;
  }
  const auto timeout = std::chrono::seconds(options.timeout_s);
  auto key_body = AdminGet(*admin, "/_holdfast/v1/ledger/public-key", timeout);
  // Heads before entries: entries only grow, so every exported head covers
  // exported entries.
  auto heads = key_body ? FetchHeads(*admin, timeout) : Result<std::pair<std::string, uint64_t>>(key_body.error());
  auto entries = heads ? FetchEntries(*admin, timeout) : Result<std::pair<std::string, uint64_t>>(heads.error());
  if (!entries) {
    std::cerr << "holdfast ledger export: " << entries.error().message << "\n";
    return 1;
  }
  auto key = ParseJson(*key_body, "the public key");
  ledger::PublicKey public_key{};
  if (!key || !ledger::ParsePublicKey(key->value("public_key", ""), &public_key)) {
    std::cerr << "holdfast ledger export: the gateway sent no valid public key\n";
    return 1;
  }
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  for (const auto& [name, content] : {std::pair<const char*, const std::string*>{ledger::kPublicKeyFile, nullptr},
                                      {ledger::kTreeHeadsFile, &heads->first},
                                      {ledger::kEntriesFile, &entries->first}}) {
    Status written = WriteFile(fs::path(out_dir) / name, content ? *content : ledger::PublicKeyJson(public_key));
    if (!written) {
      std::cerr << "holdfast ledger export: " << written.error().message << "\n";
      return 1;
    }
  }
  if (options.json) {
    std::cout << json{{"out", out_dir}, {"entries", entries->second}, {"tree_heads", heads->second},
                      {"key_id", ledger::KeyId(public_key)}}.dump() << "\n";
  } else {
    std::cout << "Exported " << entries->second << " entries and " << heads->second << " tree heads to " << out_dir
              << " (key " << ledger::KeyId(public_key) << ").\n"
              << "Check it anywhere with: holdfast ledger verify " << out_dir << "\n";
  }
  return 0;
}

// --- verify ----------------------------------------------------------------------

struct VerifyArgs {
  std::string dir;
  std::string receipt;
  std::string public_key_hex;
  std::optional<uint64_t> entry;
  std::vector<uint64_t> consistency;
  bool json = false;
};

Result<std::optional<ledger::PublicKey>> TrustedKey(const VerifyArgs& args) {
  if (args.public_key_hex.empty()) return std::optional<ledger::PublicKey>();
  ledger::PublicKey key{};
  if (!ledger::ParsePublicKey(args.public_key_hex, &key)) {
    return MakeError(Errc::kInvalidArgument, "--public-key must be 64 hex digits");
  }
  return std::optional<ledger::PublicKey>(key);
}

int PrintReport(const ledger::VerifyReport& report, bool as_json) {
  if (as_json) {
    std::cout << ledger::ReportToJson(report).dump(2) << "\n";
  } else {
    std::cout << ledger::ReportToText(report);
  }
  return report.ok() ? 0 : 1;
}

int RunVerify(const VerifyArgs& args) {
  auto key = TrustedKey(args);
  if (!key) {
    std::cerr << "holdfast ledger verify: " << key.error().message << "\n";
    return 2;
  }
  auto log = ledger::ReadExport(args.dir, *key);
  if (!log) {
    std::cerr << "holdfast ledger verify: " << log.error().message << "\n";
    return 2;
  }
  ledger::VerifyOptions options;
  options.entry = args.entry;
  if (args.consistency.size() == 2) options.consistency = std::make_pair(args.consistency[0], args.consistency[1]);
  return PrintReport(ledger::VerifyLog(*log, options), args.json);
}

int RunVerifyReceipt(const VerifyArgs& args) {
  auto key = TrustedKey(args);
  auto text = key ? ReadWholeFile(args.receipt) : Result<std::string>(key.error());
  if (!text) {
    std::cerr << "holdfast ledger verify-receipt: " << text.error().message << "\n";
    return 2;
  }
  const json receipt = json::parse(*text, nullptr, false);
  std::optional<ledger::ExportedLog> log;
  if (!args.dir.empty()) {
    auto read = ledger::ReadExport(args.dir, *key);
    if (!read) {
      std::cerr << "holdfast ledger verify-receipt: " << read.error().message << "\n";
      return 2;
    }
    log = std::move(*read);
  }
  return PrintReport(ledger::VerifyReceipt(receipt, *key, log ? &*log : nullptr), args.json);
}

// --- file-request ----------------------------------------------------------------

struct FileRequestArgs {
  std::string case_reference;
  std::string requested_by;
  std::string scope;
  std::string document;
  std::string receipt_out;
};

int RunFileRequest(const AdminOptions& options, const FileRequestArgs& args) {
  auto admin = ResolveAdminTarget(options);
  if (!admin) {
    std::cerr << "holdfast ledger file-request: " << admin.error().message << "\n";
    return 2;
  }
  auto document = ReadWholeFile(args.document);
  if (!document) {
    std::cerr << "holdfast ledger file-request: " << document.error().message << "\n";
    return 2;
  }
  const std::string target = "/_holdfast/v1/ledger/preservation-requests?case=" +
                             net::PercentEncode(args.case_reference, false) +
                             "&requested_by=" + net::PercentEncode(args.requested_by, false) +
                             "&scope=" + net::PercentEncode(args.scope, false);
  auto body = AdminRequest(*admin, "POST", target, std::chrono::seconds(options.timeout_s), *document);
  if (!body) {
    std::cerr << "holdfast ledger file-request: " << body.error().message << "\n";
    return 1;
  }
  auto receipt = ParseJson(*body, "the receipt");
  if (!receipt || !(*receipt).contains("entry")) {
    std::cerr << "holdfast ledger file-request: unexpected answer: " << body->substr(0, 200) << "\n";
    return 1;
  }
  if (!args.receipt_out.empty()) {
    Status written = WriteFile(args.receipt_out, receipt->dump(2) + "\n");
    if (!written) {
      std::cerr << "holdfast ledger file-request: " << written.error().message << "\n";
      return 1;
    }
  }
  if (options.json) {
    std::cout << receipt->dump() << "\n";
    return 0;
  }
  const json& entry = (*receipt)["entry"];
  std::cout << "Preservation request recorded as ledger entry " << (*receipt)["index"].get<uint64_t>() << "\n"
            << "  case:            " << entry["case_reference"].get<std::string>() << "\n"
            << "  requested by:    " << entry["requested_by"].get<std::string>() << "\n"
            << "  document sha256: " << entry["document_sha256"].get<std::string>() << " ("
            << entry["document_size_bytes"].get<uint64_t>() << " bytes)\n"
            << "  received:        " << Timestamp(entry["timestamp_ms"].get<int64_t>()) << "\n"
            << "  tree head:       " << HeadLine((*receipt)["tree_head"]) << "\n"
            << "  signed by key:   " << (*receipt)["key_id"].get<std::string>() << "\n";
  if (!args.receipt_out.empty()) {
    std::cout << "Receipt written to " << args.receipt_out << "; check it with: holdfast ledger verify-receipt "
              << args.receipt_out << "\n";
  } else {
    std::cout << "Keep the receipt: rerun with --receipt-out FILE or --json to save it.\n";
  }
  return 0;
}

}  // namespace

void AddLedgerCommand(CLI::App& app, Action* run) {
  CLI::App* ledger = app.add_subcommand("ledger", "The tamper-evident notice ledger (docs/ledger.md)");
  ledger->require_subcommand(1);

  auto head_options = std::make_shared<AdminOptions>();
  auto sign = std::make_shared<bool>(false);
  CLI::App* head = ledger->add_subcommand("head", "Show the latest signed tree head");
  head->add_flag("--sign", *sign, "Have the gateway sign a fresh tree head now");
  AddAdminOptions(head, head_options.get(), 30);
  head->callback([=] { *run = [=] { return RunHead(*head_options, *sign); }; });

  auto export_options = std::make_shared<AdminOptions>();
  auto out_dir = std::make_shared<std::string>();
  CLI::App* export_cmd = ledger->add_subcommand("export", "Write the ledger (entries, tree heads, key) to files");
  export_cmd->add_option("--out", *out_dir, "Directory to write entries.jsonl, tree_heads.jsonl, public_key.json")
      ->required();
  AddAdminOptions(export_cmd, export_options.get(), 600);
  export_cmd->callback([=] { *run = [=] { return RunExport(*export_options, *out_dir); }; });

  auto verify_args = std::make_shared<VerifyArgs>();
  CLI::App* verify = ledger->add_subcommand("verify", "Check an exported ledger offline");
  verify->add_option("dir", verify_args->dir, "Directory written by `holdfast ledger export`")->required();
  verify->add_option("--entry", verify_args->entry, "Also prove this entry's inclusion in the latest tree head");
  verify->add_option("--consistency", verify_args->consistency,
                     "Also prove the tree heads of these two sizes consistent")
      ->expected(2);
  verify->add_option("--public-key", verify_args->public_key_hex,
                     "Trust this Ed25519 key (hex) instead of the export's public_key.json");
  verify->add_flag("--json", verify_args->json, "Print the report as JSON");
  verify->callback([=] { *run = [=] { return RunVerify(*verify_args); }; });

  auto receipt_args = std::make_shared<VerifyArgs>();
  CLI::App* verify_receipt = ledger->add_subcommand("verify-receipt", "Check a receipt offline");
  verify_receipt->add_option("receipt", receipt_args->receipt, "Receipt file (JSON)")->required();
  verify_receipt->add_option("--against", receipt_args->dir,
                             "An export to check it against: the entry is still there and history was not rewritten");
  verify_receipt->add_option("--public-key", receipt_args->public_key_hex, "Trust only this Ed25519 key (hex)");
  verify_receipt->add_flag("--json", receipt_args->json, "Print the report as JSON");
  verify_receipt->callback([=] { *run = [=] { return RunVerifyReceipt(*receipt_args); }; });

  auto file_options = std::make_shared<AdminOptions>();
  auto file_args = std::make_shared<FileRequestArgs>();
  CLI::App* file = ledger->add_subcommand("file-request", "File a preservation request; prints the signed receipt");
  file->add_option("--case", file_args->case_reference, "Case or matter reference")->required();
  file->add_option("--by", file_args->requested_by, "Who requests preservation")->required();
  file->add_option("--document", file_args->document, "The attached request document (only its SHA-256 is kept)")
      ->required();
  file->add_option("--scope", file_args->scope, "What is to be preserved, in words");
  file->add_option("--receipt-out", file_args->receipt_out, "Also write the receipt (JSON) to this file");
  AddAdminOptions(file, file_options.get(), 60);
  file->callback([=] { *run = [=] { return RunFileRequest(*file_options, *file_args); }; });
}

}  // namespace holdfast::cli
