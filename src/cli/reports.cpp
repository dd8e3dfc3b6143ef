#include "cli/reports.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

namespace holdfast::cli {
namespace {

using Json = nlohmann::json;

std::string Fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

// Tolerant field access: nullopt / "" / empty when absent or of another type.
std::optional<double> Num(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j.at(key).is_number()) return std::nullopt;
  return j.at(key).get<double>();
}
uint64_t Count(const Json& j, const char* key) {
  auto n = Num(j, key);
  return n && *n > 0 ? static_cast<uint64_t>(*n) : 0;
}
std::string Str(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j.at(key).is_string()) return "";
  return j.at(key).get<std::string>();
}
const Json& Obj(const Json& j, const char* key) {
  static const Json kNull;
  if (!j.is_object() || !j.contains(key)) return kNull;
  return j.at(key);
}

std::string Plural(uint64_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// Left-aligned columns, two spaces apart; the last column is not padded.
class Table {
 public:
  explicit Table(std::string indent) : indent_(std::move(indent)) {}
  void Row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  // A free line after the last row (e.g. a node's scrub detail).
  void Note(std::string line) { rows_.push_back({"\n" + line}); }
  std::string Text() const {
    std::vector<size_t> width;
    for (const auto& row : rows_) {
      if (row.size() == 1 && row[0].starts_with("\n")) continue;
      for (size_t i = 0; i < row.size(); ++i) {
        if (width.size() <= i) width.push_back(0);
        width[i] = std::max(width[i], row[i].size());
      }
    }
    std::string out;
    for (const auto& row : rows_) {
      if (row.size() == 1 && row[0].starts_with("\n")) {
        out += indent_ + row[0].substr(1) + "\n";
        continue;
      }
      std::string line = indent_;
      for (size_t i = 0; i < row.size(); ++i) {
        line += row[i];
        if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
      }
      while (line.ends_with(' ')) line.pop_back();  // an empty last cell
      out += line + "\n";
    }
    return out;
  }

 private:
  std::string indent_;
  std::vector<std::vector<std::string>> rows_;
};

std::string Ago(int64_t then_unix_ms, int64_t now_unix_ms) {
  if (then_unix_ms <= 0) return "never";
  const double seconds = double(now_unix_ms - then_unix_ms) / 1000.0;
  if (seconds < 1) return "just now";
  return HumanDuration(seconds) + " ago";
}

// ---- status ------------------------------------------------------------------

// One line about a node's scrub, from the fields docs/admin-api.md lists;
// any other scalar fields follow as name=value.
std::string ScrubLine(const Json& scrub, int64_t now_unix_ms) {
  std::vector<std::string> parts;
  if (auto limit = Num(scrub, "rate_limit_bytes_per_second"); limit && *limit == 0) {
    parts.push_back("off");
  }
  if (Num(scrub, "bytes_verified")) parts.push_back(HumanBytes(*Num(scrub, "bytes_verified")) + " verified");
  if (Num(scrub, "shards_verified")) parts.push_back(Plural(Count(scrub, "shards_verified"), "shard clean", "shards clean"));
  if (Num(scrub, "corrupt_found")) parts.push_back(std::to_string(Count(scrub, "corrupt_found")) + " corrupt");
  if (Num(scrub, "read_errors")) parts.push_back(Plural(Count(scrub, "read_errors"), "read error", "read errors"));
  if (Num(scrub, "passes_completed") && Count(scrub, "passes_completed") == 0) {
    parts.push_back("no full pass yet");
  } else if (Num(scrub, "passes_completed")) {
    std::string passes = Plural(Count(scrub, "passes_completed"), "pass", "passes");
    if (auto last = Num(scrub, "last_pass_completed_unix_ms")) {
      passes += " (last " + Ago(static_cast<int64_t>(*last), now_unix_ms) + ")";
    }
    parts.push_back(passes);
  }
  if (auto limit = Num(scrub, "rate_limit_bytes_per_second"); limit && *limit > 0) {
    parts.push_back("limit " + HumanRate(*limit));
  }
  static const char* kKnown[] = {"rate_limit_bytes_per_second", "bytes_verified", "shards_verified",
                                 "corrupt_found", "read_errors", "passes_completed",
                                 "last_pass_completed_unix_ms"};
  for (const auto& [field, value] : scrub.items()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), field) != std::end(kKnown)) continue;
    if (value.is_primitive()) parts.push_back(field + "=" + value.dump());
  }
  std::string line;
  for (const std::string& part : parts) line += (line.empty() ? "" : ", ") + part;
  return line;
}

std::string NodesSection(const Json& nodes, int64_t now_unix_ms) {
  if (!nodes.is_array()) return "";
  std::map<std::string, std::vector<const Json*>> by_provider;
  for (const Json& node : nodes) by_provider[Str(node, "provider")].push_back(&node);
  std::string out;
  for (const auto& [provider, members] : by_provider) {
    std::map<std::string, int> states;
    for (const Json* node : members) ++states[Str(*node, "state")];
    std::string summary;
    for (const auto& [state, n] : states) summary += (summary.empty() ? "" : ", ") + std::to_string(n) + " " + state;
    out += "  " + (provider.empty() ? "(no provider)" : provider) + "  (" +
           Plural(members.size(), "node", "nodes") + ": " + summary + ")\n";
    Table table("    ");
    table.Row({"NODE", "STATE", "USED", "CAPACITY", "FILL", "SHARDS", "SITE"});
    for (const Json* node : members) {
      const double used = Num(*node, "used_bytes").value_or(0);
      const double capacity = Num(*node, "capacity_bytes").value_or(0);
      std::string state = Str(*node, "state");
      if (node->value("read_only", false)) state += " (read-only)";
      table.Row({Str(*node, "id"), state, HumanBytes(used), HumanBytes(capacity),
                 capacity > 0 ? Fixed(100.0 * used / capacity, 1) + "%" : "-",
                 std::to_string(Count(*node, "shard_count")), Str(*node, "site")});
      const Json& scrub = Obj(*node, "scrub");
      if (scrub.is_object()) {
        const std::string line = ScrubLine(scrub, now_unix_ms);
        if (!line.empty()) table.Note("  scrub: " + line);
      }
    }
    out += table.Text();
  }
  return out;
}

std::string MarginSection(const Json& status) {
  const Json& by_spare = Obj(status, "versions_by_spare_shards");
  std::string facts;
  if (Num(status, "versions")) facts = Plural(Count(status, "versions"), "version", "versions");
  if (Num(status, "under_protected_versions")) {
    facts += (facts.empty() ? "" : "; ") + std::to_string(Count(status, "under_protected_versions")) +
             " under-protected";
  }
  std::string out = "Object versions by remaining margin" + (facts.empty() ? "" : " (" + facts + ")") + "\n";
  if (!by_spare.is_object()) {
    const std::string why = Str(status, "reporting_error");
    return out + "  not available" + (why.empty() ? "" : ": " + why) + "\n";
  }
  if (by_spare.empty()) return out + "  no object versions yet\n";
  std::vector<std::pair<int, uint64_t>> rows;
  for (const auto& [spare, count] : by_spare.items()) {
    try {
      rows.emplace_back(std::stoi(spare), count.is_number() ? count.get<uint64_t>() : 0);
    } catch (const std::exception&) {
      continue;
    }
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  Table table("  ");
  table.Row({"SPARE SHARDS", "VERSIONS", ""});
  for (const auto& [spare, count] : rows) {
    std::string meaning;
    if (spare < 0) {
      meaning = "unreadable now: fewer than k shards are healthy";
    } else if (spare == 0) {
      meaning = "readable, but one more lost shard makes them unreadable";
    } else {
      meaning = "can lose " + Plural(spare, "more shard", "more shards");
    }
    table.Row({std::to_string(spare), std::to_string(count), meaning});
  }
  return out + table.Text();
}

std::string RepairSection(const Json& status) {
  const Json& repair = Obj(status, "repair");
  if (!repair.is_object()) return "";
  std::string out = "Repair\n";
  out += "  queue: " + std::to_string(Count(status, "under_protected_versions")) +
         " under-protected object versions";
  if (Num(repair, "passes") && Count(repair, "passes") > 0) {
    out += "; at the end of the last pass " + std::to_string(Count(repair, "unplaceable_shards")) +
           " shards waited for an eligible node and " + std::to_string(Count(repair, "unreadable_versions")) +
           " versions for readable shards";
  }
  out += "\n  rate: " + HumanRate(Num(repair, "rate_bytes_per_second").value_or(0)) + " now (last 5 s)";
  if (auto measured = Num(repair, "measured_rate_bytes_per_second"); measured && *measured > 0) {
    out += ", " + HumanRate(*measured) + " measured over the latest stretch of repair";
  }
  if (auto limit = Num(repair, "rate_limit_bytes_per_second")) out += ", limit " + HumanRate(*limit);
  out += "\n  since the gateway started: " + Plural(Count(repair, "shards_rebuilt"), "shard", "shards") +
         " (" + HumanBytes(Num(repair, "bytes_rebuilt").value_or(0)) + ") rebuilt, " +
         std::to_string(Count(repair, "shards_marked_lost")) + " marked lost, " +
         std::to_string(Count(repair, "shards_reconciled")) + " found intact again, " +
         Plural(Count(repair, "failures"), "failure", "failures") + ", " +
         Plural(Count(repair, "passes"), "pass", "passes") + "\n";
  return out;
}

std::string DrainSection(const Json& status) {
  const Json& drain = Obj(status, "drain");
  std::string out = "Drain\n";
  const Json& drains = Obj(drain, "drains");
  if (!drains.is_array() || drains.empty()) return out + "  nothing is being drained\n";
  Table table("  ");
  table.Row({"SCOPE", "NAME", "STATE", "OBJECTS LEFT", "SHARDS LEFT", "BYTES LEFT"});
  for (const Json& entry : drains) {
    const bool retired = Str(entry, "state") == "retired";
    std::string state = Str(entry, "state");
    if (!retired && entry.value("ready_to_retire", false)) state = "drained (ready to retire)";
    table.Row({Str(entry, "scope"), Str(entry, "name"), state,
               retired ? "-" : std::to_string(Count(entry, "objects_left")),
               retired ? "-" : std::to_string(Count(entry, "shards_left")),
               retired ? "-" : HumanBytes(Num(entry, "bytes_left").value_or(0))});
  }
  out += table.Text();
  out += "  moved " + HumanBytes(Num(drain, "bytes_moved").value_or(0)) + " (" +
         Plural(Count(drain, "shards_moved"), "shard", "shards") + ") at " +
         HumanRate(Num(drain, "rate_bytes_per_second").value_or(0));
  if (auto eta = Num(drain, "eta_seconds"); eta && *eta > 0) out += ", about " + HumanDuration(*eta) + " to go";
  out += "\n";
  const Json& blocked = Obj(drain, "blocked");
  if (blocked.is_array() && !blocked.empty()) {
    out += "  " + Plural(blocked.size(), "shard cannot", "shards cannot") + " move now:\n";
    for (const Json& move : blocked) {
      out += "    " + Str(move, "bucket") + "/" + Str(move, "key") + " (shard " +
             std::to_string(Count(move, "shard_index")) + " on " + Str(move, "node_id") + "): " +
             Str(move, "reason") + "\n";
    }
  }
  return out;
}

std::string ScrubSection(const Json& status, int64_t now_unix_ms) {
  const Json& scrub = Obj(status, "scrub");
  if (!scrub.is_object()) return "";
  std::string out = "Scrub (all nodes)\n  " + HumanBytes(Num(scrub, "bytes_verified").value_or(0)) +
                    " verified, " + std::to_string(Count(scrub, "corrupt_found")) + " corrupt shards found, " +
                    Plural(Count(scrub, "read_errors"), "read error", "read errors");
  if (auto oldest = Num(scrub, "oldest_pass_completed_unix_ms")) {
    out += "; every shard verified since: " +
           (*oldest > 0 ? Ago(static_cast<int64_t>(*oldest), now_unix_ms) : std::string("not yet"));
  }
  if (Num(scrub, "reports_received")) {
    out += "\n  " + std::to_string(Count(scrub, "reports_received")) + " corrupt-shard reports received, " +
           std::to_string(Count(scrub, "shards_recorded_missing")) + " recorded missing for repair";
  }
  return out + "\n";
}

// ---- drill -------------------------------------------------------------------

std::string ByProvider(const Json& bytes) {
  if (!bytes.is_object() || bytes.empty()) return "";
  std::string out;
  for (const auto& [provider, n] : bytes.items()) {
    out += (out.empty() ? "" : ", ") + provider + " " + HumanBytes(n.is_number() ? n.get<double>() : 0);
  }
  return " (" + out + ")";
}

std::string LostNodes(const Json& scenario) {
  std::map<std::string, std::vector<std::string>> named, down;
  const Json& lost = Obj(scenario, "lost_nodes");
  if (!lost.is_array()) return "";
  for (const Json& node : lost) {
    (Str(node, "reason") == "down" ? down : named)[Str(node, "provider")].push_back(Str(node, "id"));
  }
  auto list = [](const std::map<std::string, std::vector<std::string>>& nodes) {
    std::string out;
    for (const auto& [provider, ids] : nodes) {
      std::string joined;
      for (const auto& id : ids) joined += (joined.empty() ? "" : " ") + id;
      out += (out.empty() ? "" : "; ") + provider + ": " + joined;
    }
    return out;
  };
  std::string out = "  nodes lost: " + list(named) + "\n";
  if (!down.empty()) out += "  also down now, so lost too: " + list(down) + "\n";
  return out;
}

}  // namespace

std::string HumanBytes(double bytes) {
  static const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return Fixed(bytes, 0) + " B";
  int unit = -1;
  while (bytes >= 1024 && unit < 5) {
    bytes /= 1024;
    ++unit;
  }
  return Fixed(bytes, 1) + " " + kUnits[unit];
}

std::string HumanRate(double bytes_per_second) { return HumanBytes(bytes_per_second) + "/s"; }

std::string HumanDuration(double seconds) {
  if (!(seconds >= 0)) return "unknown";
  if (seconds < 60) return Fixed(seconds, seconds < 10 ? 1 : 0) + " s";
  const uint64_t s = static_cast<uint64_t>(std::llround(seconds));
  if (s < 3600) return std::to_string(s / 60) + " min " + std::to_string(s % 60) + " s";
  if (s < 86400) return std::to_string(s / 3600) + " h " + std::to_string(s % 3600 / 60) + " min";
  return std::to_string(s / 86400) + " d " + std::to_string(s % 86400 / 3600) + " h";
}

std::string RenderStatusReport(const Json& status, const std::string& endpoint, int64_t now_unix_ms) {
  const Json& nodes = Obj(status, "nodes");
  std::string out = "Holdfast cluster at " + endpoint;
  if (nodes.is_array()) {
    uint64_t up = 0;
    std::map<std::string, int> providers;
    for (const Json& node : nodes) {
      ++providers[Str(node, "provider")];
      if (Str(node, "state") == "up") ++up;
    }
    out += ": " + Plural(nodes.size(), "node", "nodes") + " at " +
           Plural(providers.size(), "provider", "providers") + ", " + std::to_string(up) + " up";
  }
  out += "\n";
  const Json& policy = Obj(status, "policy");
  if (policy.is_object()) {
    out += "  policy: survive the loss of " + Plural(Count(policy, "provider_losses"), "provider", "providers") +
           " plus " + Plural(Count(policy, "server_losses"), "more server", "more servers") + "\n";
  }
  if (auto grace = Num(status, "loss_grace_ms")) {
    out += "  a node down for " + HumanDuration(*grace / 1000.0) + " is lost and its shards are rebuilt\n";
  }
  if (!Str(status, "error").empty()) out += "  metadata store error: " + Str(status, "error") + "\n";
  out += "\nNodes by provider\n" + NodesSection(nodes, now_unix_ms);
  out += "\n" + MarginSection(status);
  const std::string repair = RepairSection(status);
  if (!repair.empty()) out += "\n" + repair;
  out += "\n" + DrainSection(status);
  if (const Json& gc = Obj(status, "gc"); gc.is_object()) {
    out += "\nGarbage collection\n  " + Plural(Count(gc, "queued_shards"), "shard copy", "shard copies") +
           " queued for deletion\n";
  }
  const std::string scrub = ScrubSection(status, now_unix_ms);
  if (!scrub.empty()) out += "\n" + scrub;
  return out;
}

std::string RenderDrillReport(const Json& drill) {
  const Json& scenario = Obj(drill, "scenario");
  std::string lose;
  if (const Json& terms = Obj(scenario, "lose"); terms.is_array()) {
    for (const Json& term : terms) lose += (lose.empty() ? "" : ", ") + (term.is_string() ? term.get<std::string>() : term.dump());
  }
  std::string out = "Drill: what losing " + lose + " would do (computed from metadata; no data was touched)\n";
  out += LostNodes(scenario);

  const Json& unreadable = Obj(drill, "unreadable");
  const uint64_t lost_versions = Count(unreadable, "versions");
  out += "\nUnreadable: " + Plural(lost_versions, "object version", "object versions");
  if (lost_versions > 0) out += " (" + HumanBytes(Num(unreadable, "bytes").value_or(0)) + ")";
  out += "\n";
  if (const Json& list = Obj(unreadable, "list"); list.is_array() && !list.empty()) {
    Table table("  ");
    table.Row({"BUCKET/KEY", "SIZE", "SHARDS LEFT", "VERSION"});
    for (const Json& v : list) {
      table.Row({Str(v, "bucket") + "/" + Str(v, "key"), HumanBytes(Num(v, "size_bytes").value_or(0)),
                 std::to_string(Count(v, "remaining_shards")) + " of " +
                     std::to_string(Count(v, "data_shard_count")) + " needed",
                 Str(v, "version_id")});
    }
    out += table.Text();
    if (lost_versions > list.size()) {
      out += "  ... and " + std::to_string(lost_versions - list.size()) + " more (raise --limit, or use --json)\n";
    }
  }

  const Json& degraded = Obj(drill, "degraded");
  out += "\nDegraded but readable: " + Plural(Count(degraded, "versions"), "object version", "object versions");
  if (Count(degraded, "versions") > 0) out += " (" + HumanBytes(Num(degraded, "bytes").value_or(0)) + ")";
  out += "\n";
  if (const Json& by_spare = Obj(degraded, "by_spare_shards"); by_spare.is_object()) {
    for (const auto& [spare, n] : by_spare.items()) {
      const uint64_t count = n.is_number() ? n.get<uint64_t>() : 0;
      out += "  " + std::to_string(count) + " with " + spare + " spare " + (spare == "1" ? "shard" : "shards") +
             (spare == "0" ? " (one more loss and they are unreadable)" : "") + "\n";
    }
  }

  const Json& repair = Obj(drill, "repair");
  if (repair.is_object()) {
    out += "\nRepair afterwards\n";
    out += "  rebuild now: " + Plural(Count(repair, "shards_to_rebuild"), "shard", "shards") + ", reading " +
           HumanBytes(Num(repair, "read_bytes").value_or(0)) + ByProvider(Obj(repair, "read_bytes_by_provider")) +
           " and writing " + HumanBytes(Num(repair, "write_bytes").value_or(0)) +
           ByProvider(Obj(repair, "write_bytes_by_provider")) + "\n";
    const std::string repairer = Str(scenario, "repairer_provider");
    out += "  across provider boundaries: " + HumanBytes(Num(repair, "cross_provider_read_bytes").value_or(0)) +
           " read, " + HumanBytes(Num(repair, "cross_provider_write_bytes").value_or(0)) +
           " written (repair runs at the gateway, " +
           (repairer.empty() ? std::string("here taken to be outside every provider; say where with --repairer-provider")
                             : "in " + repairer) +
           ")\n";
    if (Count(repair, "shards_waiting_for_nodes") > 0) {
      out += "  waiting for nodes: " + Plural(Count(repair, "shards_waiting_for_nodes"), "shard", "shards") + " (" +
             HumanBytes(Num(repair, "waiting_bytes").value_or(0)) +
             ") have no node that keeps the placement policy until lost nodes return or new ones join\n";
    }
    const double rate = Num(repair, "rate_bytes_per_second").value_or(0);
    const bool measured = Str(repair, "rate_source") == "measured";
    if (Count(repair, "shards_to_rebuild") == 0) return out + "  time: nothing can be rebuilt right away\n";
    out += "  time: about " + HumanDuration(Num(repair, "estimated_seconds").value_or(0)) + " at " +
           HumanRate(rate) + (measured ? " (measured repair rate)" : " (the configured rate limit: no repair measured yet)") +
           "\n";
  }
  return out;
}

}  // namespace holdfast::cli
