#include "gateway/metrics.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iterator>
#include <map>
#include <span>
#include <utility>
#include <vector>

namespace holdfast::gateway {
namespace {

using Json = nlohmann::json;
using Labels = std::vector<std::pair<std::string, std::string>>;

// Label values escape backslash, double quote and line feed (format 0.0.4).
std::string EscapeLabel(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Metric names allow [a-zA-Z0-9_:]; anything else in a field name becomes _.
std::string SanitizeName(const std::string& name) {
  std::string out;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out += ok ? c : '_';
  }
  return out;
}

// Numbers as JSON writes them (integers exactly, floats shortest
// round-trip), booleans as 1/0; nullopt for anything else.
std::optional<std::string> SampleValue(const Json& value) {
  if (value.is_boolean()) return value.get<bool>() ? "1" : "0";
  if (value.is_number()) return value.dump();
  return std::nullopt;
}

// Collects samples per metric family, so that each family's HELP and TYPE
// come once, before all its samples, as the format requires.
class Exposition {
 public:
  void Add(const std::string& name, const std::string& type, const std::string& help,
           const Labels& labels, const Json& value) {
    auto sample = SampleValue(value);
    if (!sample) return;
    Family& family = Find(name, type, help);
    std::string line = name;
    if (!labels.empty()) {
      line += "{";
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i > 0) line += ",";
        line += labels[i].first + "=\"" + EscapeLabel(labels[i].second) + "\"";
      }
      line += "}";
    }
    family.samples.push_back(line + " " + *sample + "\n");
  }

  // A field of `object`, if present.
  void AddField(const Json& object, const std::string& field, const std::string& name,
                const std::string& type, const std::string& help, const Labels& labels = {}) {
    if (object.is_object() && object.contains(field)) Add(name, type, help, labels, object.at(field));
  }

  std::string Text() const {
    std::string out;
    for (const Family& family : families_) {
      out += "# HELP " + family.name + " " + family.help + "\n";
      out += "# TYPE " + family.name + " " + family.type + "\n";
      for (const std::string& sample : family.samples) out += sample;
    }
    return out;
  }

 private:
  struct Family {
    std::string name, type, help;
    std::vector<std::string> samples;
  };

  Family& Find(const std::string& name, const std::string& type, const std::string& help) {
    auto it = index_.find(name);
    if (it != index_.end()) return families_[it->second];
    index_[name] = families_.size();
    families_.push_back(Family{name, type, help, {}});
    return families_.back();
  }

  std::vector<Family> families_;  // in order of first appearance
  std::map<std::string, size_t> index_;
};

// A status field and the metric it becomes.
struct Field {
  const char* field;
  const char* name;
  const char* type;
  const char* help;
  double scale = 1;  // e.g. 0.001 for *_unix_ms -> *_timestamp_seconds
};

void AddFields(const Json& object, std::span<const Field> fields, const Labels& labels,
               Exposition* out) {
  if (!object.is_object()) return;
  for (const Field& f : fields) {
    if (!object.contains(f.field)) continue;
    const Json& value = object.at(f.field);
    if (f.scale != 1 && value.is_number()) {
      out->Add(f.name, f.type, f.help, labels, Json(value.get<double>() * f.scale));
    } else {
      out->Add(f.name, f.type, f.help, labels, value);
    }
  }
}

// nodes[].scrub (docs/admin-api.md, docs/scrub.md). Fields not known here
// still become holdfast_node_scrub_<field> (untyped), so a counter the
// scrubber adds later is scraped before this table learns about it.
void AddNodeScrub(const Json& scrub, const Labels& labels, Exposition* out) {
  static const Field kFields[] = {
      {"bytes_verified", "holdfast_node_scrub_bytes_verified_total", "counter",
       "Bytes the node's scrub read back and verified since the node started."},
      {"shards_verified", "holdfast_node_scrub_shards_verified_total", "counter",
       "Shards the node's scrub found clean since the node started."},
      {"corrupt_found", "holdfast_node_scrub_corrupt_found_total", "counter",
       "Shard files the node's scrub found corrupt and quarantined since the node started."},
      {"read_errors", "holdfast_node_scrub_read_errors_total", "counter",
       "Shards the node's scrub could not open since the node started."},
      {"passes_completed", "holdfast_node_scrub_passes_completed_total", "counter",
       "Full scrub passes over the node's shards since the node started."},
      {"rate_limit_bytes_per_second", "holdfast_node_scrub_rate_limit_bytes_per_second", "gauge",
       "The node's scrub budget in bytes per second (0 = scrubbing is off)."},
      {"last_pass_completed_unix_ms", "holdfast_node_scrub_last_pass_completed_timestamp_seconds",
       "gauge", "When the node's last full scrub pass ended (0 = never).", 0.001},
  };
  if (!scrub.is_object()) return;
  AddFields(scrub, kFields, labels, out);
  for (const auto& [field, value] : scrub.items()) {
    const bool known = std::any_of(std::begin(kFields), std::end(kFields),
                                   [&](const Field& f) { return field == f.field; });
    if (known) continue;
    out->Add("holdfast_node_scrub_" + SanitizeName(field), "untyped",
             "The node's scrub \"" + field + "\" in GET /_holdfast/v1/status.", labels, value);
  }
}

void AddClusterScrub(const Json& scrub, Exposition* out) {
  // The per-node sums are left out: Prometheus sums the node series itself.
  static const Field kFields[] = {
      {"reports_received", "holdfast_scrub_reports_received_total", "counter",
       "Corrupt-shard reports from nodes' scrubs this gateway received since it started."},
      {"shards_recorded_missing", "holdfast_scrub_shards_recorded_missing_total", "counter",
       "Scrub reports whose shard was recorded missing for repair."},
      {"oldest_pass_completed_unix_ms", "holdfast_scrub_oldest_pass_completed_timestamp_seconds",
       "gauge",
       "Oldest last full scrub pass among scrubbing nodes that are not lost (0 = one has none).",
       0.001},
  };
  AddFields(scrub, kFields, {}, out);
}

constexpr const char* kNodeStates[] = {"up", "suspect", "down", "lost"};

void AddNodes(const Json& nodes, Exposition* out) {
  if (!nodes.is_array()) return;
  for (const Json& node : nodes) {
    const Labels labels = {{"node", node.value("id", "")},
                           {"provider", node.value("provider", "")},
                           {"site", node.value("site", "")}};
    const std::string state = node.value("state", "");
    out->Add("holdfast_node_up", "gauge",
             "1 while the node's heartbeats arrive (state up or suspect), else 0.", labels,
             Json(state == "up" || state == "suspect"));
    for (const char* name : kNodeStates) {
      Labels with_state = labels;
      with_state.emplace_back("state", name);
      out->Add("holdfast_node_state", "gauge",
               "1 for the node's current state (up, suspect, down, lost), 0 for the others.",
               with_state, Json(state == name));
    }
    out->AddField(node, "read_only", "holdfast_node_read_only", "gauge",
                  "1 if the node's shard store refuses writes.", labels);
    out->AddField(node, "used_bytes", "holdfast_node_used_bytes", "gauge",
                  "Bytes used on the node's shard store, as its last heartbeat reported.", labels);
    out->AddField(node, "capacity_bytes", "holdfast_node_capacity_bytes", "gauge",
                  "Capacity of the node's shard store, as its last heartbeat reported.", labels);
    out->AddField(node, "shard_count", "holdfast_node_shards", "gauge",
                  "Shards on the node, as its last heartbeat reported.", labels);
    AddNodeScrub(node.value("scrub", Json()), labels, out);
  }
}

void AddRepair(const Json& repair, Exposition* out) {
  static const Field kFields[] = {
      {"shards_rebuilt", "holdfast_repair_shards_rebuilt_total", "counter",
       "Shards rebuilt from survivors and recorded at their new node."},
      {"bytes_rebuilt", "holdfast_repair_bytes_rebuilt_total", "counter",
       "Payload bytes of rebuilt shards written to nodes."},
      {"failures", "holdfast_repair_failures_total", "counter",
       "Version repairs that failed (retried on a later pass)."},
      {"shards_marked_lost", "holdfast_repair_shards_marked_lost_total", "counter",
       "Shard records marked missing because their node was lost."},
      {"shards_reconciled", "holdfast_repair_shards_reconciled_total", "counter",
       "Shards found intact on a lost node that came back."},
      {"passes", "holdfast_repair_passes_total", "counter", "Full passes over the repair queue."},
      {"unplaceable_shards", "holdfast_repair_unplaceable_shards", "gauge",
       "Damaged shards with no eligible node at the end of the last pass."},
      {"unreadable_versions", "holdfast_repair_unreadable_versions", "gauge",
       "Versions with fewer than k reachable shards at the end of the last pass."},
      {"rate_bytes_per_second", "holdfast_repair_rate_bytes_per_second", "gauge",
       "Rebuilt bytes per second over the last 5 s."},
      {"measured_rate_bytes_per_second", "holdfast_repair_measured_rate_bytes_per_second", "gauge",
       "Rebuilt bytes per second over the latest stretch of continuous repair (0 = none yet)."},
      {"rate_limit_bytes_per_second", "holdfast_repair_rate_limit_bytes_per_second", "gauge",
       "Repair's budget for written bytes per second."},
  };
  AddFields(repair, kFields, {}, out);
}

// Per drain: what is left; overall: what moved, the rate, what is blocked.
void AddDrain(const Json& drain, Exposition* out) {
  if (!drain.is_object()) return;
  for (const Json& entry : drain.value("drains", Json::array())) {
    const Labels labels = {{"scope", entry.value("scope", "")}, {"name", entry.value("name", "")},
                           {"state", entry.value("state", "")}};
    out->AddField(entry, "shards_left", "holdfast_drain_shards_left", "gauge",
                  "Shards still recorded on a draining node or provider.", labels);
    out->AddField(entry, "bytes_left", "holdfast_drain_bytes_left", "gauge",
                  "Shard bytes still recorded on a draining node or provider.", labels);
    out->AddField(entry, "objects_left", "holdfast_drain_objects_left", "gauge",
                  "Object versions with shards still on a draining node or provider.", labels);
  }
  out->AddField(drain, "shards_moved", "holdfast_drain_shards_moved_total", "counter",
                "Shards moved off draining nodes since the gateway started.");
  out->AddField(drain, "bytes_moved", "holdfast_drain_bytes_moved_total", "counter",
                "Shard bytes moved off draining nodes since the gateway started.");
  out->AddField(drain, "rate_bytes_per_second", "holdfast_drain_rate_bytes_per_second", "gauge",
                "Moved bytes per second over the last 5 s.");
  if (drain.contains("blocked") && drain["blocked"].is_array()) {
    out->Add("holdfast_drain_blocked_shards", "gauge",
             "Shards a drain could not move in its current or last pass (see the status for why).", {},
             Json(drain["blocked"].size()));
  }
}

std::string Render(const Json& status) {
  Exposition out;
  out.Add("holdfast_metadata_up", "gauge",
          "1 if the metadata store answered the status queries, else 0 (see the status's error).",
          {}, Json(!status.contains("error") && !status.contains("reporting_error")));
  AddNodes(status.value("nodes", Json()), &out);
  if (status.contains("loss_grace_ms") && status.at("loss_grace_ms").is_number()) {
    out.Add("holdfast_loss_grace_seconds", "gauge",
            "How long a node may be down before its shards count as lost.", {},
            Json(status.at("loss_grace_ms").get<double>() / 1000.0));
  }
  out.AddField(status, "under_protected_versions", "holdfast_under_protected_versions", "gauge",
               "Object versions with a shard missing, corrupt, unplaced or on a lost node.");
  out.AddField(status, "versions", "holdfast_versions", "gauge",
               "Erasure-coded object versions (rows that own shards).");
  const Json by_spare = status.value("versions_by_spare_shards", Json());
  if (by_spare.is_object()) {
    for (const auto& [spare, count] : by_spare.items()) {
      out.Add("holdfast_versions_by_spare_shards", "gauge",
              "Object versions by how many more shards each can lose and still be read.",
              {{"spare_shards", spare}}, count);
    }
  }
  AddRepair(status.value("repair", Json()), &out);
  AddClusterScrub(status.value("scrub", Json()), &out);
  out.AddField(status.value("gc", Json()), "queued_shards", "holdfast_gc_queued_shards", "gauge",
               "Shard copies waiting in the garbage-collection queue.");
  AddDrain(status.value("drain", Json()), &out);
  const Json backup = status.value("metadata_backup", Json());
  out.AddField(backup, "backups_taken", "holdfast_metadata_backups_total", "counter",
               "Metadata backups written into the cluster since the gateway started.");
  out.AddField(backup, "failures", "holdfast_metadata_backup_failures_total", "counter",
               "Metadata backups that failed since the gateway started.");
  if (backup.is_object() && backup.value("last_unix_ms", int64_t{0}) > 0) {
    out.Add("holdfast_metadata_backup_last_seconds", "gauge", "Unix time of the last metadata backup.", {},
            Json(backup.value("last_unix_ms", int64_t{0}) / 1000.0));
  }
  return out.Text();
}

}  // namespace

Result<std::string> MetricsFromStatusJson(std::string_view status_json) {
  const Json status = Json::parse(status_json, nullptr, /*allow_exceptions=*/false);
  if (!status.is_object()) {
    return MakeError(Errc::kInvalidArgument, "the status document is not a JSON object");
  }
  // value() and get() throw on a field of an unexpected type; the document
  // is ours, but a scrape must never take the gateway down over it.
  try {
    return Render(status);
  } catch (const Json::exception& e) {
    return MakeError(Errc::kInternal, std::string("cannot render metrics from the status: ") + e.what());
  }
}

}  // namespace holdfast::gateway
