#include "meta/sqlite_schema.h"

#include <string>

namespace holdfast::meta::sqlite {
namespace {

// Migration N turns a version N-1 database into version N. Append only:
// never edit a migration that has shipped.
struct Migration {
  int version;
  const char* sql;
};

// Why each index exists: docs/metadata-schema.md.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE buckets (
  name            TEXT NOT NULL PRIMARY KEY,
  owner_id        TEXT NOT NULL,
  region          TEXT NOT NULL,
  created_unix_ms INTEGER NOT NULL
);
CREATE INDEX buckets_by_owner ON buckets (owner_id, name);

-- bucket is deliberately not a foreign key: SQLite would check it on every
-- bucket delete by scanning this table (no plain index on bucket). The
-- store checks bucket existence and emptiness itself, in the same
-- transaction.
CREATE TABLE object_versions (
  version_id       TEXT NOT NULL PRIMARY KEY,
  bucket           TEXT NOT NULL,
  key              TEXT NOT NULL,
  size_bytes       INTEGER NOT NULL CHECK (size_bytes >= 0),
  etag             TEXT NOT NULL,
  content_type     TEXT NOT NULL,
  user_metadata    TEXT NOT NULL DEFAULT '{}',
  headers          TEXT NOT NULL DEFAULT '{}',
  created_unix_ms  INTEGER NOT NULL,
  k                INTEGER NOT NULL CHECK (k > 0),
  m                INTEGER NOT NULL CHECK (m >= 0),
  block_size_bytes INTEGER NOT NULL CHECK (block_size_bytes > 0),
  is_latest        INTEGER NOT NULL DEFAULT 1 CHECK (is_latest IN (0, 1))
);
CREATE UNIQUE INDEX object_versions_latest
  ON object_versions (bucket, key) WHERE is_latest = 1;

CREATE TABLE shards (
  version_id  TEXT NOT NULL
              REFERENCES object_versions (version_id) ON DELETE CASCADE,
  shard_index INTEGER NOT NULL CHECK (shard_index >= 0),
  node_id     TEXT NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('ok', 'missing')),
  PRIMARY KEY (version_id, shard_index),
  CHECK (state != 'ok' OR node_id != '')
) WITHOUT ROWID;
CREATE INDEX shards_by_node ON shards (node_id, version_id, shard_index);
CREATE INDEX shards_not_ok ON shards (version_id) WHERE state != 'ok';

CREATE TABLE pending_writes (
  version_id      TEXT NOT NULL PRIMARY KEY,
  bucket          TEXT NOT NULL,
  key             TEXT NOT NULL,
  started_unix_ms INTEGER NOT NULL
);
CREATE INDEX pending_writes_by_start ON pending_writes (started_unix_ms, version_id);
CREATE INDEX pending_writes_by_bucket ON pending_writes (bucket);

CREATE TABLE pending_shards (
  version_id  TEXT NOT NULL
              REFERENCES pending_writes (version_id) ON DELETE CASCADE,
  shard_index INTEGER NOT NULL CHECK (shard_index >= 0),
  node_id     TEXT NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('ok', 'missing')),
  PRIMARY KEY (version_id, shard_index),
  CHECK (state != 'ok' OR node_id != '')
) WITHOUT ROWID;

-- AUTOINCREMENT: ids are never reused, so a retried CompleteGcItem can never
-- remove a newer item that happened to get a freed id.
CREATE TABLE gc_queue (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  version_id     TEXT NOT NULL,
  shard_index    INTEGER NOT NULL,
  node_id        TEXT NOT NULL CHECK (node_id != ''),
  queued_unix_ms INTEGER NOT NULL
);

CREATE TABLE nodes (
  id                     TEXT NOT NULL PRIMARY KEY,
  provider               TEXT NOT NULL,
  site                   TEXT NOT NULL,
  endpoint               TEXT NOT NULL,
  capacity_bytes         INTEGER NOT NULL,
  used_bytes             INTEGER NOT NULL,
  first_seen_unix_ms     INTEGER NOT NULL,
  last_heartbeat_unix_ms INTEGER NOT NULL
);

CREATE TABLE access_keys (
  access_key_id TEXT NOT NULL PRIMARY KEY,
  secret_key    TEXT NOT NULL,
  user_id       TEXT NOT NULL
);
)sql";

// Multipart uploads. A part is a version row of its own (kind 'part', never
// latest) with its own shards, so repair, drain and GC need nothing new;
// object_parts says which parts make up an upload in progress or a
// completed multipart version (owner_id: the upload id, which becomes that
// version's id). Rows without shards of their own ('multipart', and delete
// markers later) keep placeholders k=1, m=0, block 1: the v1 CHECKs cannot
// be changed without rebuilding a table that shards references.
constexpr const char* kSchemaV2 = R"sql(
ALTER TABLE object_versions ADD COLUMN kind TEXT NOT NULL DEFAULT 'object'
  CHECK (kind IN ('object', 'multipart', 'part', 'delete_marker'));

CREATE TABLE multipart_uploads (
  upload_id         TEXT NOT NULL PRIMARY KEY,
  bucket            TEXT NOT NULL,
  key               TEXT NOT NULL,
  content_type      TEXT NOT NULL,
  user_metadata     TEXT NOT NULL DEFAULT '{}',
  headers           TEXT NOT NULL DEFAULT '{}',
  initiated_unix_ms INTEGER NOT NULL
);
CREATE INDEX multipart_uploads_by_key
  ON multipart_uploads (bucket, key, initiated_unix_ms, upload_id);
CREATE INDEX multipart_uploads_by_start ON multipart_uploads (initiated_unix_ms, upload_id);

CREATE TABLE object_parts (
  owner_id        TEXT NOT NULL,
  part_number     INTEGER NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
  part_version_id TEXT NOT NULL REFERENCES object_versions (version_id),
  offset_bytes    INTEGER NOT NULL DEFAULT 0 CHECK (offset_bytes >= 0),
  PRIMARY KEY (owner_id, part_number)
) WITHOUT ROWID;
CREATE UNIQUE INDEX object_parts_by_part ON object_parts (part_version_id);
)sql";

// Versioning. null_version marks the version S3 calls "null" (written while
// versioning was never enabled or suspended; every v2 row is one). seq
// orders the versions of one key (newest = highest); the partial index
// object_versions_by_key lists them newest first and answers "is the bucket
// empty?" including noncurrent versions and delete markers.
constexpr const char* kSchemaV3 = R"sql(
ALTER TABLE buckets ADD COLUMN versioning TEXT NOT NULL DEFAULT ''
  CHECK (versioning IN ('', 'Enabled', 'Suspended'));
ALTER TABLE object_versions ADD COLUMN null_version INTEGER NOT NULL DEFAULT 1
  CHECK (null_version IN (0, 1));
ALTER TABLE object_versions ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX object_versions_by_key
  ON object_versions (bucket, key, seq DESC) WHERE kind != 'part';
)sql";

// Drains: nodes and providers being emptied before they leave (a provider
// drain covers every node of that provider, also ones that register later).
// A retired scope stays recorded: its nodes never take shards again.
constexpr const char* kSchemaV4 = R"sql(
CREATE TABLE drains (
  scope           TEXT NOT NULL CHECK (scope IN ('node', 'provider')),
  name            TEXT NOT NULL CHECK (name != ''),
  state           TEXT NOT NULL CHECK (state IN ('draining', 'retired')),
  started_unix_ms INTEGER NOT NULL,
  retired_unix_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (scope, name)
) WITHOUT ROWID;
)sql";

// The notice ledger (docs/ledger.md): an append-only Merkle log. Entries by
// index (their canonical bytes are what is hashed); ledger_nodes holds every
// complete subtree above the leaves, (level, idx) covering leaves
// [idx << level, (idx + 1) << level), so a root or proof reads O(log n)
// rows; tree heads in signing order, each naming the hash of the one before
// (a chain, so a removed head shows). Triggers refuse UPDATE and DELETE: the
// store never rewrites the log (tampering by hand is what verification
// catches).
constexpr const char* kSchemaV5 = R"sql(
CREATE TABLE ledger_entries (
  idx          INTEGER NOT NULL PRIMARY KEY CHECK (idx >= 0),
  kind         TEXT NOT NULL,
  timestamp_ms INTEGER NOT NULL,
  leaf_hash    TEXT NOT NULL CHECK (length(leaf_hash) = 64),
  canonical    TEXT NOT NULL
);
CREATE TABLE ledger_nodes (
  level INTEGER NOT NULL CHECK (level > 0),
  idx   INTEGER NOT NULL CHECK (idx >= 0),
  hash  TEXT NOT NULL CHECK (length(hash) = 64),
  PRIMARY KEY (idx, level)
) WITHOUT ROWID;
CREATE TABLE ledger_tree_heads (
  seq           INTEGER NOT NULL PRIMARY KEY,
  tree_size     INTEGER NOT NULL CHECK (tree_size >= 0),
  timestamp_ms  INTEGER NOT NULL,
  root_hash     TEXT NOT NULL CHECK (length(root_hash) = 64),
  previous_hash TEXT NOT NULL CHECK (length(previous_hash) = 64),
  head_hash     TEXT NOT NULL UNIQUE CHECK (length(head_hash) = 64),
  signature     TEXT NOT NULL CHECK (length(signature) = 128)
);
CREATE INDEX ledger_tree_heads_by_size ON ledger_tree_heads (tree_size, seq);
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE ON ledger_entries
  BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
  BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_nodes_append_only BEFORE UPDATE ON ledger_nodes
  BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_nodes_no_delete BEFORE DELETE ON ledger_nodes
  BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_tree_heads_append_only BEFORE UPDATE ON ledger_tree_heads
  BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_tree_heads_no_delete BEFORE DELETE ON ledger_tree_heads
  BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
)sql";

// S3 Object Lock (docs/object-lock.md). Buckets: enabled for good, and the
// default retention new versions get. Versions: retention mode, retain-until
// (Unix ms) and legal hold ('' = never set, as S3 distinguishes it from OFF).
// Uploads: the lock CreateMultipartUpload asked for, applied at completion.
// users: who may bypass GOVERNANCE retention (no row: nobody). No index: the
// guard reads the lock columns of a row it already found by primary key.
constexpr const char* kSchemaV6 = R"sql(
ALTER TABLE buckets ADD COLUMN object_lock_enabled INTEGER NOT NULL DEFAULT 0
  CHECK (object_lock_enabled IN (0, 1));
ALTER TABLE buckets ADD COLUMN lock_default_mode TEXT NOT NULL DEFAULT ''
  CHECK (lock_default_mode IN ('', 'GOVERNANCE', 'COMPLIANCE'));
ALTER TABLE buckets ADD COLUMN lock_default_days INTEGER NOT NULL DEFAULT 0
  CHECK (lock_default_days >= 0);
ALTER TABLE buckets ADD COLUMN lock_default_years INTEGER NOT NULL DEFAULT 0
  CHECK (lock_default_years >= 0);

ALTER TABLE object_versions ADD COLUMN retention_mode TEXT NOT NULL DEFAULT ''
  CHECK (retention_mode IN ('', 'GOVERNANCE', 'COMPLIANCE'));
ALTER TABLE object_versions ADD COLUMN retain_until_unix_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE object_versions ADD COLUMN legal_hold TEXT NOT NULL DEFAULT ''
  CHECK (legal_hold IN ('', 'ON', 'OFF'));

ALTER TABLE multipart_uploads ADD COLUMN retention_mode TEXT NOT NULL DEFAULT ''
  CHECK (retention_mode IN ('', 'GOVERNANCE', 'COMPLIANCE'));
ALTER TABLE multipart_uploads ADD COLUMN retain_until_unix_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE multipart_uploads ADD COLUMN legal_hold TEXT NOT NULL DEFAULT ''
  CHECK (legal_hold IN ('', 'ON', 'OFF'));

CREATE TABLE users (
  user_id               TEXT NOT NULL PRIMARY KEY,
  may_bypass_governance INTEGER NOT NULL DEFAULT 0 CHECK (may_bypass_governance IN (0, 1))
) WITHOUT ROWID;
)sql";

// Preservation beyond S3 (docs/holds.md, docs/deletion-notices.md).
// holds: an operator's hold on a version, a bucket, a user's data, or every
// version with a shard on a provider; released holds stay as the record.
// hold_versions: the versions a provider hold covered when it was placed, so
// that moving their shards off the provider (drain) does not free them.
// user_webhooks: where an account's deletion notices are delivered.
// deletion_notices / notice_deliveries: an operator's deletion of a user's or
// provider's data, waiting for its effective time and for every delivery.
constexpr const char* kSchemaV7 = R"sql(
CREATE TABLE holds (
  hold_id          TEXT NOT NULL PRIMARY KEY,
  scope            TEXT NOT NULL CHECK (scope IN ('version', 'bucket', 'user', 'provider')),
  target           TEXT NOT NULL,
  bucket           TEXT NOT NULL DEFAULT '',
  key              TEXT NOT NULL DEFAULT '',
  s3_version_id    TEXT NOT NULL DEFAULT '',
  case_reference   TEXT NOT NULL,
  requested_by     TEXT NOT NULL,
  reason           TEXT NOT NULL,
  placed_unix_ms   INTEGER NOT NULL,
  released_unix_ms INTEGER NOT NULL DEFAULT 0,
  released_by      TEXT NOT NULL DEFAULT '',
  release_reason   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX holds_active ON holds (scope, target) WHERE released_unix_ms = 0;

CREATE TABLE hold_versions (
  version_id TEXT NOT NULL,
  hold_id    TEXT NOT NULL REFERENCES holds (hold_id),
  PRIMARY KEY (version_id, hold_id)
) WITHOUT ROWID;

CREATE TABLE user_webhooks (
  user_id TEXT NOT NULL,
  url     TEXT NOT NULL,
  PRIMARY KEY (user_id, url)
) WITHOUT ROWID;

CREATE TABLE deletion_notices (
  notice_id         TEXT NOT NULL PRIMARY KEY,
  scope             TEXT NOT NULL CHECK (scope IN ('user', 'provider')),
  target            TEXT NOT NULL,
  reason            TEXT NOT NULL,
  issued_by         TEXT NOT NULL,
  issued_unix_ms    INTEGER NOT NULL,
  effective_unix_ms INTEGER NOT NULL,
  ledger_index      INTEGER NOT NULL,
  state             TEXT NOT NULL CHECK (state IN ('waiting', 'executed', 'cancelled')),
  outcome           TEXT NOT NULL DEFAULT '',
  finished_unix_ms  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE notice_deliveries (
  notice_id            TEXT NOT NULL REFERENCES deletion_notices (notice_id),
  url                  TEXT NOT NULL,
  attempts             INTEGER NOT NULL DEFAULT 0,
  next_attempt_unix_ms INTEGER NOT NULL,
  delivered_unix_ms    INTEGER NOT NULL DEFAULT 0,
  last_result          TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (notice_id, url)
) WITHOUT ROWID;
CREATE INDEX notice_deliveries_due ON notice_deliveries (next_attempt_unix_ms) WHERE delivered_unix_ms = 0;
)sql";

// Bucket policies (docs/s3-compatibility.md): the owner's S3 policy JSON as
// stored ('' = none). A column rather than a table: every request reads the
// bucket row anyway, the policy goes with the bucket when it is deleted, and
// the gateway's parsed-policy cache is keyed on this text.
constexpr const char* kSchemaV8 = R"sql(
ALTER TABLE buckets ADD COLUMN policy TEXT NOT NULL DEFAULT '';
)sql";

// ListHolds counts each provider hold's recorded versions: by hold, not by
// version (the primary key's order).
constexpr const char* kSchemaV9 = R"sql(
CREATE INDEX hold_versions_by_hold ON hold_versions (hold_id);
)sql";

// The web interface (docs/web.md): passwords of accounts (an account is an
// S3 user with a password), sign-in sessions (only the token's SHA-256 is
// stored), and share links. Access keys get a creation time and an index by
// user, for the settings page's list of one's own keys.
constexpr const char* kSchemaV10 = R"sql(
CREATE TABLE web_accounts (
  user_id         TEXT NOT NULL PRIMARY KEY,
  password_hash   TEXT NOT NULL,
  role            TEXT NOT NULL CHECK (role IN ('user', 'operator')),
  created_unix_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE web_sessions (
  token_sha256    TEXT NOT NULL PRIMARY KEY,
  user_id         TEXT NOT NULL,
  csrf_token      TEXT NOT NULL,
  created_unix_ms INTEGER NOT NULL,
  expires_unix_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX web_sessions_by_user ON web_sessions (user_id);
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_unix_ms);

CREATE TABLE share_links (
  link_id         TEXT NOT NULL PRIMARY KEY,
  owner_id        TEXT NOT NULL,
  bucket          TEXT NOT NULL,
  key             TEXT NOT NULL,
  created_unix_ms INTEGER NOT NULL,
  expires_unix_ms INTEGER NOT NULL DEFAULT 0,  -- 0: never
  password_hash   TEXT NOT NULL DEFAULT '',    -- '': no password
  revoked_unix_ms INTEGER NOT NULL DEFAULT 0,  -- 0: not revoked
  downloads       INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX share_links_by_owner ON share_links (owner_id, created_unix_ms);

ALTER TABLE access_keys ADD COLUMN created_unix_ms INTEGER NOT NULL DEFAULT 0;
CREATE INDEX access_keys_by_user ON access_keys (user_id);
)sql";

constexpr Migration kMigrations[] = {
    {1, kSchemaV1},
    {2, kSchemaV2},
    {3, kSchemaV3},
    {4, kSchemaV4},
    {5, kSchemaV5},
    {6, kSchemaV6},
    {7, kSchemaV7},
    {8, kSchemaV8},
    {9, kSchemaV9},
    {10, kSchemaV10},
};
static_assert(std::size(kMigrations) == kSchemaVersion);

Result<int> ReadUserVersion(Db& db) {
  Stmt stmt = db.Prepare("PRAGMA user_version");
  META_ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) return MakeError(Errc::kInternal, "sqlite: PRAGMA user_version returned no row");
  return static_cast<int>(stmt.ColumnInt(0));
}

// Applies the next migration if one is due. Returns the version afterwards.
Result<int> MigrateOneStep(Db& db) {
  // IMMEDIATE: a second process opening the same file at the same moment
  // waits here instead of applying the same migration twice.
  Txn txn(db);
  META_TRY(txn.Begin(Txn::Mode::kWrite));
  META_ASSIGN_OR_RETURN(const int version, ReadUserVersion(db));
  if (version > kSchemaVersion) {
    return MakeError(Errc::kConflict, "sqlite: database schema version " + std::to_string(version) +
                                          " is newer than this build's (" +
                                          std::to_string(kSchemaVersion) + ")");
  }
  if (version == kSchemaVersion) return version;
  const Migration& migration = kMigrations[version];
  META_TRY(db.ExecScript(migration.sql));
  // PRAGMA takes no parameters; the value is our own integer.
  const std::string bump = "PRAGMA user_version = " + std::to_string(migration.version);
  META_TRY(db.ExecScript(bump.c_str()));
  META_TRY(txn.Commit());
  return migration.version;
}

}  // namespace

Status MigrateSchema(Db& db) {
  while (true) {
    META_ASSIGN_OR_RETURN(const int version, MigrateOneStep(db));
    if (version == kSchemaVersion) return Status::Ok();
  }
}

}  // namespace holdfast::meta::sqlite
