// meta: the metadata store — buckets, object versions, where each shard lives,
// nodes, users, and the queues that connect the commit point to garbage
// collection.  Start here for meta/.
//
// One interface, several backends: SQLite (embedded, WAL; the default) now,
// PostgreSQL when several gateways share a cluster. The interface is
// deliberately made of small, whole transactions (no open cursors, no
// callbacks holding locks) so that a networked backend fits it unchanged.
//
// The commit point of a PUT (ARCHITECTURE.md):
//   1. BeginWrite() records a pending write: the version id and the nodes that
//      will receive its shards. From here on, garbage collection can always
//      find those shards.
//   2. The gateway streams the shards; nodes make them durable.
//   3. CommitObject() atomically inserts the version row with its shard
//      locations, removes the pending write, and (for an overwrite) moves the
//      replaced version's shards to the GC queue. The row is the commit.
//   4. If the write fails, AbortWrite() moves the pending shards to the GC
//      queue. If the gateway dies instead, ExpiredPendingWrites() finds the
//      pending write later and the sweeper aborts it.
// Shards are deleted from nodes only from the GC queue.
//
// Metadata per object is constant in the object's size: one version row plus
// one row per shard (k+m), never per block.
//
// Thread-safety: every method may be called from any thread; each is one
// transaction, so no reader sees half of a commit.
//
// Shards queued for GC: every shard of the removed version or pending write
// that has a node, whatever its state (a shard recorded as missing may still
// have left a partial file on its node). Schema: docs/metadata-schema.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace holdfast::meta {

// S3 bucket versioning. Once enabled it can only be suspended, never turned
// off again (S3's rule).
enum class Versioning { kNeverEnabled, kEnabled, kSuspended };

// ---- Object Lock (docs/object-lock.md) -------------------------------------
// S3 Object Lock: a version under retention (until a time) or under legal
// hold (until released) cannot be destroyed. The store enforces it in the
// transaction that would remove the version row, whatever the caller.
//   GOVERNANCE: removable or shortened early only with LockBypass::kGovernance,
//               which the gateway passes only for a user the operator allowed
//               to bypass and only when the request asks for it.
//   COMPLIANCE: never removable or shortened before it expires, by anyone.
enum class RetentionMode { kNone, kGovernance, kCompliance };
// kNone: never set (S3 then answers NoSuchObjectLockConfiguration).
enum class LegalHold { kNone, kOn, kOff };

struct ObjectLock {
  RetentionMode mode = RetentionMode::kNone;
  int64_t retain_until_unix_ms = 0;  // with a mode; expired once the store's clock reaches it
  LegalHold legal_hold = LegalHold::kNone;
  bool empty() const { return mode == RetentionMode::kNone && legal_hold == LegalHold::kNone; }
};

// A bucket's default retention, applied at commit to new versions written
// without a retention of their own: exactly one of days and years (a year is
// 365 days) is positive when mode is set.
struct DefaultRetention {
  RetentionMode mode = RetentionMode::kNone;  // kNone: no default
  int days = 0;
  int years = 0;
};

struct BucketObjectLock {
  bool enabled = false;  // once enabled, never disabled; versioning stays Enabled
  DefaultRetention default_retention;
};

// Whether a removal may override GOVERNANCE retention (never COMPLIANCE and
// never a legal hold).
enum class LockBypass { kNone, kGovernance };

struct Bucket {
  std::string name;
  std::string owner_id;
  std::string region;
  int64_t created_unix_ms = 0;
  Versioning versioning = Versioning::kNeverEnabled;
  // Filled on reads. On CreateBucket, true creates the bucket with Object
  // Lock enabled and versioning Enabled (S3's x-amz-bucket-object-lock-enabled).
  bool object_lock_enabled = false;
  // The bucket policy (S3 JSON, as the owner stored it; "" = none). Filled
  // by GetBucket; ignored by CreateBucket (a new bucket has none). Schema
  // v8.
  std::string policy = {};
};

enum class ShardState { kOk, kMissing };

struct ShardLocation {
  int shard_index = 0;
  std::string node_id;  // empty when kMissing and never placed
  ShardState state = ShardState::kOk;
};

// What a version row holds.
//   kObject:    the bytes, erasure-coded into this row's own k+m shards.
//   kMultipart: a completed multipart upload; the bytes are its parts, in
//               order, each a kPart row with its own shards. Its version id
//               is the upload id. No shards of its own (k, m and the block
//               size are then placeholders: 1, 0, 1).
//   kPart:      one uploaded part of a multipart upload, in progress or
//               completed. Never listed and never "latest"; repair, drain
//               and GC treat it like any erasure-coded version.
//   kDeleteMarker: S3's delete marker in a versioned bucket: no bytes, no
//               shards (placeholders as for kMultipart).
enum class VersionKind { kObject, kMultipart, kPart, kDeleteMarker };

struct ObjectPart;

struct ObjectVersion {
  std::string version_id;  // 32 lower-case hex digits; also names the shards
  std::string bucket;
  std::string key;
  uint64_t size_bytes = 0;
  std::string etag;  // without quotes
  std::string content_type;
  std::map<std::string, std::string> user_metadata;  // x-amz-meta-* (lower-case names, no prefix)
  // Standard headers kept verbatim and returned on GET/HEAD: cache-control,
  // content-disposition, content-encoding, content-language, expires
  // (lower-case names).
  std::map<std::string, std::string> headers;
  int64_t created_unix_ms = 0;
  int data_shard_count = 0;    // k
  int parity_shard_count = 0;  // m
  uint32_t block_size_bytes = 0;
  std::vector<ShardLocation> shards;  // k+m entries, by shard index
  VersionKind kind = VersionKind::kObject;
  std::vector<ObjectPart> parts;  // kMultipart: its parts by part number
  // S3 calls this version "null": it was written while the bucket's
  // versioning was never enabled or suspended, and the next such write
  // replaces it. Set by the store on commit; ignored on input.
  bool null_version = true;
  bool is_latest = false;  // filled on reads
  // Retention and legal hold. On CommitObject: what the writer asked for; a
  // version without a retention of its own gets the bucket's default. Filled
  // by GetObject, GetObjectVersion and GetVersion.
  ObjectLock lock;
};

// The version id S3 clients see: "null" for the null version.
inline std::string S3VersionId(const ObjectVersion& version) {
  return version.null_version ? "null" : version.version_id;
}

// One part of a multipart version: where its bytes sit in the object, and
// the part's own row (kind kPart, with its shards).
struct ObjectPart {
  int part_number = 0;
  uint64_t offset_bytes = 0;
  ObjectVersion data;
};

// A multipart upload in progress; what CreateMultipartUpload was told
// becomes the completed object's attributes.
struct MultipartUpload {
  std::string upload_id;  // 32 hex digits; the completed version's id
  std::string bucket;
  std::string key;
  std::string content_type;
  std::map<std::string, std::string> user_metadata;
  std::map<std::string, std::string> headers;
  int64_t initiated_unix_ms = 0;
  ObjectLock lock;  // applied to the version the upload becomes (or the bucket's default)
};

// A part uploaded to a multipart upload in progress.
struct UploadedPartRecord {
  int part_number = 0;
  std::string part_version_id;  // the part's own version row
  uint64_t size_bytes = 0;
  std::string etag;  // MD5 of the part, hex, without quotes
  int64_t modified_unix_ms = 0;
};

// ListMultipartUploads: uploads ordered by (key, initiation time, upload id).
struct UploadListQuery {
  std::string prefix;
  std::string delimiter;         // empty = none
  std::string key_marker;        // exclusive, see S3's ListMultipartUploads
  std::string upload_id_marker;  // with key_marker: uploads of that key after this one
  int max_uploads = 1000;        // 1..1000
};

struct UploadListResult {
  std::vector<MultipartUpload> uploads;
  std::vector<std::string> common_prefixes;
  bool is_truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};

// A conditional write (S3's If-None-Match: * and If-Match on PutObject and
// CompleteMultipartUpload), checked inside the commit's transaction against
// the key's current version, so two racing writers cannot both pass. A
// delete marker counts as no object.
struct WriteCondition {
  bool if_none_match = false;              // commit only if the key has no object
  std::vector<std::string> if_match_etags;  // non-empty: only if the object's ETag is one
                                            // of these (unquoted; "*" = any object)
  bool empty() const { return !if_none_match && if_match_etags.empty(); }
};

// What a commit (CommitObject, CompleteMultipartUpload) did.
struct CommitOutcome {
  std::vector<std::string> replaced_version_ids;  // removed, already queued for GC
  // The bucket's versioning at the commit (not as a caller read it
  // earlier), and so whether the new version is S3's "null" version: S3
  // names it in x-amz-version-id unless versioning was never enabled.
  Versioning versioning = Versioning::kNeverEnabled;
  bool null_version = true;
};

// What a DELETE did.
struct DeleteOutcome {
  bool delete_marker = false;  // a delete marker was created, or the version deleted was one
  std::string s3_version_id;   // that marker's or version's S3 id; empty if none
};

// ListObjectVersions: every version and delete marker, by key, newest first.
struct VersionListQuery {
  std::string prefix;
  std::string delimiter;          // empty = none
  std::string key_marker;         // exclusive
  std::string version_id_marker;  // with key_marker: versions of it older than this S3 id
  int max_keys = 1000;            // 1..1000
};

struct VersionListResult {
  std::vector<ObjectVersion> versions;  // without shards or parts
  std::vector<std::string> common_prefixes;
  bool is_truncated = false;
  std::string next_key_marker;
  std::string next_version_id_marker;  // S3 id
};

struct PendingWrite {
  std::string version_id;
  std::string bucket;
  std::string key;
  int64_t started_unix_ms = 0;
  std::vector<ShardLocation> shards;  // planned nodes (kOk = will be written)
};

// A shard that must be deleted from its node.
struct GcItem {
  int64_t id = 0;
  std::string version_id;
  int shard_index = 0;
  std::string node_id;
  int64_t queued_unix_ms = 0;
};

struct NodeRecord {
  std::string id;
  std::string provider;
  std::string site;
  std::string endpoint;  // "host:port" of the node API
  uint64_t capacity_bytes = 0;
  uint64_t used_bytes = 0;
  int64_t first_seen_unix_ms = 0;
  int64_t last_heartbeat_unix_ms = 0;
};

struct AccessKey {
  std::string access_key_id;
  std::string secret_key;
  std::string user_id;
  int64_t created_unix_ms = 0;  // 0 for keys made before schema v10
};

struct ListQuery {
  std::string prefix;
  std::string delimiter;    // empty = none
  std::string start_after;  // exclusive; keys and common prefixes after this
                            // (byte order; a common prefix containing it is
                            // not after it)
  int max_keys = 1000;      // 1..1000; 0 lists nothing, not truncated
};

struct ListedObject {
  std::string key;
  uint64_t size_bytes = 0;
  std::string etag;
  int64_t modified_unix_ms = 0;
};

struct ListResult {
  std::vector<ListedObject> objects;         // in key order
  std::vector<std::string> common_prefixes;  // in order, each counted in max_keys
  bool is_truncated = false;
  // When truncated: the last key or common prefix returned; pass it back as
  // start_after to continue.
  std::string next_start_after;
};

// A shard recorded on a node, for repair and drain ("everything on node X").
struct ShardRef {
  std::string version_id;
  int shard_index = 0;
};

// A compare-and-set change of where a committed shard lives and whether it is
// healthy. Repair, reconciliation and degraded reads decide from rows they
// read earlier, so a move applies only while the catalogue still records the
// shard at `from_node_id`: whoever decided on stale rows loses, never data.
struct ShardMove {
  std::string version_id;
  int shard_index = 0;
  std::string from_node_id;  // where the shard must still be recorded ("" = never placed)
  std::string to_node_id;    // may equal from_node_id (a change of state only)
  ShardState to_state = ShardState::kOk;
};

// Drains (gateway/drain.h): a node, or every node of a provider, that takes
// no new shards while its shards move elsewhere; retired once nothing is
// left on it. A retired scope never takes shards again.
enum class DrainScope { kNode, kProvider };
enum class DrainState { kDraining, kRetired };
const char* DrainScopeName(DrainScope scope);  // "node", "provider"
const char* DrainStateName(DrainState state);  // "draining", "retired"

struct Drain {
  DrainScope scope = DrainScope::kNode;
  std::string name;  // node id or provider name
  DrainState state = DrainState::kDraining;
  int64_t started_unix_ms = 0;
  int64_t retired_unix_ms = 0;  // 0 while draining
  bool operator==(const Drain&) const = default;
};

// What still lives on a set of nodes.
struct NodeContents {
  int64_t shards = 0;          // committed shards recorded there (any state)
  int64_t versions = 0;        // distinct versions those shards belong to
  uint64_t shard_bytes = 0;    // their size on disk, blocks only
  int64_t pending_shards = 0;  // shards of writes still in flight
  bool empty() const { return shards == 0 && pending_shards == 0; }
};

// A version with at least one shard not kOk, and how many more shards it can
// lose and still be read: (kOk shards) - k. Negative means unreadable now.
struct DamagedVersion {
  std::string version_id;
  int spare_shards = 0;
};

// --- The notice ledger (schema v5; ledger/ledger.h is the API to use) ---
// The store keeps what ledger/ computes and never hashes itself. Hashes are
// 64 lower-case hex digits.

// One ledger entry: its canonical bytes (docs/ledger.md) and their leaf hash.
struct LedgerEntryRecord {
  uint64_t index = 0;
  std::string kind;
  int64_t timestamp_ms = 0;
  std::string leaf_hash_hex;
  std::string canonical;
};

// The complete subtree of leaves [index << level, (index + 1) << level).
struct LedgerNodeId {
  int level = 0;
  uint64_t index = 0;
};

struct LedgerNodeRecord {
  LedgerNodeId id;  // level >= 1 (leaves are the entries' leaf hashes)
  std::string hash_hex;
};

// A signed tree head, in signing order (seq). Heads form a chain: each
// names the hash of the one signed before it (zeros for the first).
struct LedgerTreeHeadRecord {
  int64_t seq = 0;  // set by the store
  uint64_t tree_size = 0;
  int64_t timestamp_ms = 0;
  std::string root_hash_hex;
  std::string previous_hash_hex;
  std::string head_hash_hex;  // this head's own hash (ledger::TreeHeadHash)
  std::string signature_hex;  // Ed25519, 128 hex digits
};

// ---- Holds and deletion notices (schema v7; docs/holds.md) -----------------
// A hold preserves data beyond S3's Object Lock: while it is active, the
// guard that every removal of a version row passes (see Object Lock below)
// refuses to remove what it covers, with kLocked naming the hold and its case.
//   kVersion:  one version (target: its internal version id).
//   kBucket:   every version in the bucket (target: bucket name).
//   kUser:     every version in every bucket the user owns (target: user id).
//   kProvider: a preservation order on a provider: every version with a shard
//              on one of its nodes when the hold was placed or at any time
//              after (target: provider name). Its nodes cannot be retired.
// Moving shards (repair, drain) is never refused.
enum class HoldScope { kVersion, kBucket, kUser, kProvider };
const char* HoldScopeName(HoldScope scope);  // "version", "bucket", "user", "provider"

struct Hold {
  std::string hold_id;  // chosen by the caller, unique
  HoldScope scope = HoldScope::kVersion;
  std::string target;
  // kVersion: what the operator named (S3 version id; "null" or an id).
  std::string bucket;
  std::string key;
  std::string s3_version_id;
  std::string case_reference;
  std::string requested_by;
  std::string reason;
  int64_t placed_unix_ms = 0;
  int64_t released_unix_ms = 0;  // 0 while active
  std::string released_by;
  std::string release_reason;
  int64_t covered_versions = 0;  // kProvider: versions recorded when placed
  bool active() const { return released_unix_ms == 0; }
};

// An operator's deletion of an account's data (scope "user") or of what a
// provider holds (scope "provider"): it runs only after its effective time,
// once every recipient has received it, and while no hold or retention
// covers the data (gateway/deletion_notices.h).
enum class NoticeState { kWaiting, kExecuted, kCancelled };
const char* NoticeStateName(NoticeState state);  // "waiting", "executed", "cancelled"

struct NoticeDelivery {
  std::string url;
  int attempts = 0;
  int64_t next_attempt_unix_ms = 0;
  int64_t delivered_unix_ms = 0;  // 0 while not delivered
  std::string last_result;        // "HTTP 200", "connection refused", ...
};

struct DeletionNotice {
  std::string notice_id;
  std::string scope;  // "user" or "provider"
  std::string target;
  std::string reason;
  std::string issued_by;
  int64_t issued_unix_ms = 0;
  int64_t effective_unix_ms = 0;
  uint64_t ledger_index = 0;  // its deletion_notice entry
  NoticeState state = NoticeState::kWaiting;
  std::string outcome;  // why it is still waiting, or what it destroyed
  int64_t finished_unix_ms = 0;
  std::vector<NoticeDelivery> deliveries;
};

// What deleting an account's data removed.
struct UserDataDeletion {
  int64_t versions = 0;  // version rows, delete markers and parts included
  int64_t buckets = 0;
  int64_t uploads = 0;
  uint64_t bytes = 0;    // object bytes (sizes of the versions' rows)
};

// ---- The web interface (schema v10; docs/web.md) ---------------------------
// An account: an S3 user (user_id) that can sign in with a password.
enum class WebRole { kUser, kOperator };
const char* WebRoleName(WebRole role);  // "user", "operator"

struct WebAccount {
  std::string user_id;
  std::string password_hash;  // Argon2id, encoded ("$argon2id$v=19$...")
  WebRole role = WebRole::kUser;
  int64_t created_unix_ms = 0;
};

// A signed-in browser. Only the token's SHA-256 (hex) is stored, so a copy
// of the database does not sign anyone in.
struct WebSession {
  std::string token_sha256;
  std::string user_id;
  std::string csrf_token;
  int64_t created_unix_ms = 0;
  int64_t expires_unix_ms = 0;
};

// A public link to the current version of bucket/key.
struct ShareLink {
  std::string link_id;
  std::string owner_id;
  std::string bucket;
  std::string key;
  int64_t created_unix_ms = 0;
  int64_t expires_unix_ms = 0;  // 0: never
  std::string password_hash;    // "": no password
  int64_t revoked_unix_ms = 0;  // 0: not revoked
  int64_t downloads = 0;
};

struct BucketUsage {
  std::string bucket;
  int64_t objects = 0;  // current versions that are not delete markers
  uint64_t bytes = 0;
};

class MetaStore {
 public:
  virtual ~MetaStore() = default;

  // Buckets.
  virtual Status CreateBucket(const Bucket& bucket) = 0;  // kAlreadyExists
  virtual Result<Bucket> GetBucket(const std::string& name) = 0;  // kNotFound
  // By name; every owner's buckets when owner_id is empty.
  virtual Result<std::vector<Bucket>> ListBuckets(const std::string& owner_id) = 0;
  // kNotFound; kConflict while it holds objects or pending writes.
  virtual Status DeleteBucket(const std::string& name) = 0;
  // Stores the bucket's policy as given ("" removes it); the caller has
  // validated it. kNotFound.
  virtual Status SetBucketPolicy(const std::string& bucket, const std::string& policy_json) = 0;

  // The write protocol (see above).
  // kNotFound if the bucket does not exist; kAlreadyExists for a version id
  // already pending or committed.
  virtual Status BeginWrite(const PendingWrite& pending) = 0;
  // kNotFound if the bucket vanished meanwhile (the write is then aborted).
  // The new version becomes current. What it replaces follows the bucket's
  // versioning: never enabled or suspended, it is the null version and the
  // key's previous null version is removed; enabled, nothing is removed and
  // the previous current version stays as a noncurrent one.
  // Returns the versions it removed (already queued for GC) and whether the
  // new one is the null version. Planned shards
  // that the committed version does not hold at the same node are queued for
  // GC. kConflict without a pending write: the write was aborted (by the
  // gateway or the abandoned-write sweeper) and its shards may be queued
  // for deletion already. kAlreadyExists if this version id is committed.
  // kPreconditionFailed if `condition` does not hold: the write is then
  // aborted in the same transaction (its shards queued for GC).
  virtual Result<CommitOutcome> CommitObject(const ObjectVersion& version,
                                             const WriteCondition& condition = {}) = 0;
  // Idempotent: no error when there is no such pending write.
  virtual Status AbortWrite(const std::string& version_id) = 0;
  // Oldest first, with their planned shards.
  virtual Result<std::vector<PendingWrite>> ExpiredPendingWrites(int64_t started_before_unix_ms,
                                                                 int limit) = 0;

  // kNotFound; kInvalidArgument for kNeverEnabled (versioning cannot be
  // turned off once on, only suspended).
  virtual Status SetBucketVersioning(const std::string& bucket, Versioning versioning) = 0;

  // Objects: the current version of a key, which may be a delete marker
  // (kind kDeleteMarker). kNotFound if none.
  virtual Result<ObjectVersion> GetObject(const std::string& bucket, const std::string& key) = 0;
  // One version of a key by its S3 id ("null" for the null version).
  // kNotFound if none.
  virtual Result<ObjectVersion> GetObjectVersion(const std::string& bucket, const std::string& key,
                                                 const std::string& s3_version_id) = 0;
  // DELETE without a version id, as S3 does it for the bucket's versioning:
  // never enabled: the current version is removed (shards to GC; kNotFound
  // if none); enabled: a delete marker with id `marker_version_id` becomes
  // current (the old versions stay); suspended: the null version (if any)
  // is removed and a null delete marker becomes current.
  virtual Result<DeleteOutcome> DeleteObject(const std::string& bucket, const std::string& key,
                                             const std::string& marker_version_id,
                                             int64_t now_unix_ms) = 0;
  // Removes one version (or delete marker) for good and queues its shards
  // for GC; if it was current, the newest remaining version becomes current.
  // kNotFound if none; kLocked if Object Lock protects it (`bypass` can
  // override GOVERNANCE retention only).
  virtual Result<DeleteOutcome> DeleteObjectVersion(const std::string& bucket, const std::string& key,
                                                    const std::string& s3_version_id,
                                                    LockBypass bypass) = 0;
  virtual Result<VersionListResult> ListObjectVersions(const std::string& bucket,
                                                       const VersionListQuery& query) = 0;
  virtual Result<ListResult> ListObjects(const std::string& bucket, const ListQuery& query) = 0;

  // Shard bookkeeping.
  // Committed shards recorded at node_id (any state), ordered by (version_id,
  // shard_index), strictly after `after` (ShardRef{} for the first page).
  virtual Result<std::vector<ShardRef>> ShardsOnNode(const std::string& node_id,
                                                     const ShardRef& after, int limit) = 0;
  // Records where a committed shard is and whether it is healthy. If it moves
  // away from a node, the old node's copy is queued for GC. kNotFound.
  virtual Status SetShardState(const std::string& version_id, int shard_index,
                               const std::string& node_id, ShardState state) = 0;
  // Ids of the version rows that own shards (objects and multipart parts),
  // in id order, strictly after `after` ("" for the first page): a walk of
  // the whole catalogue one primary-key range at a time (rebalance).
  virtual Result<std::vector<std::string>> ShardedVersionIds(const std::string& after, int limit) = 0;
  // Versions with at least one shard not kOk, fewest healthy shards first.
  virtual Result<std::vector<std::string>> UnderProtectedVersions(int limit) = 0;
  // The committed version with this id (whatever its key), with its shards.
  // kNotFound if it was never committed or is gone.
  virtual Result<ObjectVersion> GetVersion(const std::string& version_id) = 0;
  // Applies, in one transaction, every move whose shard is still recorded at
  // its from_node_id; returns how many applied. An applied move that leaves
  // from_node_id queues the copy there for GC (as SetShardState does). A move
  // that does not apply (the version is gone, or the shard is recorded at
  // another node now) but says a copy was written (to_state kOk) queues that
  // copy at to_node_id for GC, unless the catalogue records the shard at that
  // very node: nothing else would ever delete it.
  virtual Result<int> MoveShards(const std::vector<ShardMove>& moves) = 0;
  // The repair queue, most endangered first: versions with a shard not kOk,
  // ordered by (spare_shards, version_id), strictly after `after` (nullopt
  // for the first page).
  virtual Result<std::vector<DamagedVersion>> DamagedVersions(
      const std::optional<DamagedVersion>& after, int limit) = 0;
  // How many versions have a shard not kOk or recorded at one of
  // `lost_node_ids` (nodes whose shards count as lost but are not yet
  // marked so).
  virtual Result<int64_t> CountUnderProtectedVersions(
      const std::vector<std::string>& lost_node_ids) = 0;

  // Garbage collection queue.
  // Oldest first; items stay queued until completed.
  // Items with id > after_id, by id (page with the last id returned).
  virtual Result<std::vector<GcItem>> NextGcItems(int64_t after_id, int limit) = 0;
  // Idempotent: no error when the item is already gone.
  virtual Status CompleteGcItem(int64_t id) = 0;

  // Nodes (registered by heartbeat). An update keeps first_seen_unix_ms.
  virtual Status UpsertNode(const NodeRecord& node) = 0;
  virtual Result<std::vector<NodeRecord>> ListNodes() = 0;

  // Multipart uploads. Parts are written like objects (BeginWrite, stream,
  // then CommitPart instead of CommitObject); completing an upload turns its
  // listed parts into one kMultipart version in one transaction.
  // kNotFound if the bucket does not exist.
  virtual Status CreateMultipartUpload(const MultipartUpload& upload) = 0;
  virtual Result<MultipartUpload> GetMultipartUpload(const std::string& upload_id) = 0;  // kNotFound
  // Commits a part written under a pending write; `part` has kind kPart and
  // the upload's bucket and key. A part already uploaded under the same
  // number is replaced (its shards queued for GC). kNotFound if the upload
  // is gone (completed or aborted): the pending write is then aborted in the
  // same transaction. kConflict and kAlreadyExists as for CommitObject.
  virtual Status CommitPart(const std::string& upload_id, int part_number,
                            const ObjectVersion& part) = 0;
  // Parts by number, strictly after `after_part_number`. kNotFound if no such upload.
  virtual Result<std::vector<UploadedPartRecord>> ListParts(const std::string& upload_id,
                                                            int after_part_number, int limit) = 0;
  virtual Result<UploadListResult> ListMultipartUploads(const std::string& bucket,
                                                        const UploadListQuery& query) = 0;
  // Turns the upload into `version` (kind kMultipart, version id = upload
  // id, size and ETag computed by the caller) made of `parts` (part number,
  // part version id; ascending), which must still be the parts uploaded under
  // those numbers (kConflict otherwise: a part was replaced meanwhile).
  // Uploaded parts not listed are deleted (queued for GC). Replaces the
  // key's current version like CommitObject and returns what it did.
  // kNotFound if the upload is gone. kPreconditionFailed if `condition`
  // does not hold; nothing changes then (the upload stays in progress).
  virtual Result<CommitOutcome> CompleteMultipartUpload(
      const ObjectVersion& version, const std::vector<std::pair<int, std::string>>& parts,
      const WriteCondition& condition = {}) = 0;
  // Deletes the upload and queues its parts for GC. kNotFound if none.
  virtual Status AbortMultipartUpload(const std::string& upload_id) = 0;
  // Uploads initiated before the given time, oldest first.
  virtual Result<std::vector<MultipartUpload>> ExpiredMultipartUploads(
      int64_t initiated_before_unix_ms, int limit) = 0;

  // Users and S3 credentials.
  virtual Status PutAccessKey(const AccessKey& key) = 0;
  virtual Result<AccessKey> GetAccessKey(const std::string& access_key_id) = 0;  // kNotFound
  // The user's access keys, oldest first.
  virtual Result<std::vector<AccessKey>> ListAccessKeys(const std::string& user_id) = 0;
  // kNotFound unless the key exists and belongs to `user_id`.
  virtual Status DeleteAccessKey(const std::string& user_id, const std::string& access_key_id) = 0;

  // ---- Web accounts, sessions and share links (schema v10; docs/web.md) ----
  // Signing up: creates the account and its home bucket in one transaction.
  // kAlreadyExists when the name is taken: by an account, by a user with an
  // access key or a bucket, or by a bucket of that name.
  virtual Status SignUp(const WebAccount& account, const Bucket& home_bucket) = 0;
  // Creates the account or replaces its password and role (the operator's
  // `holdfast account create`).
  virtual Status PutWebAccount(const WebAccount& account) = 0;
  virtual Result<WebAccount> GetWebAccount(const std::string& user_id) = 0;  // kNotFound
  virtual Status CreateWebSession(const WebSession& session) = 0;
  // kNotFound if there is none or it expired by `now_unix_ms`.
  virtual Result<WebSession> GetWebSession(const std::string& token_sha256, int64_t now_unix_ms) = 0;
  // Deletes the session, and every session that expired by `now_unix_ms`.
  virtual Status DeleteWebSession(const std::string& token_sha256, int64_t now_unix_ms) = 0;
  virtual Status CreateShareLink(const ShareLink& link) = 0;  // kAlreadyExists
  virtual Result<ShareLink> GetShareLink(const std::string& link_id) = 0;  // kNotFound
  // The owner's links, newest first (at most `limit`).
  virtual Result<std::vector<ShareLink>> ListShareLinks(const std::string& owner_id, int limit) = 0;
  // kNotFound unless the link exists and belongs to `owner_id`; revoking
  // twice keeps the first time.
  virtual Status RevokeShareLink(const std::string& owner_id, const std::string& link_id,
                                 int64_t now_unix_ms) = 0;
  virtual Status CountShareLinkDownload(const std::string& link_id) = 0;
  // Current versions in each bucket the user owns, by bucket name. Cost: a
  // pass over the current versions of those buckets.
  virtual Result<std::vector<BucketUsage>> UsageOfUser(const std::string& user_id) = 0;

  // ---- Object Lock (docs/object-lock.md) -----------------------------------
  // Every path that removes a version row (DeleteObject, DeleteObjectVersion,
  // replacing a null version, removing a multipart version's parts, and any
  // later one) passes one guard inside its transaction: kLocked, with a
  // message naming the version and what protects it, while a legal hold is
  // on or retention has not expired (GOVERNANCE: unless bypassed). Moving
  // shards (repair, drain) is not removal and is never refused.
  //
  // kNotFound for no bucket.
  virtual Result<BucketObjectLock> GetBucketObjectLock(const std::string& bucket) = 0;
  // Enables Object Lock on the bucket (kConflict unless its versioning is
  // Enabled) and replaces its default retention (mode kNone: none).
  // kInvalidArgument for a malformed default.
  virtual Status PutBucketObjectLock(const std::string& bucket,
                                     const DefaultRetention& default_retention) = 0;
  // Sets the retention of a version (mode kNone removes it). Extending is
  // always allowed; shortening, removing or changing the mode of unexpired
  // GOVERNANCE retention needs kGovernance; unexpired COMPLIANCE retention
  // can only be extended (kLocked otherwise, whatever `bypass`).
  // kNotFound (no such version), kInvalidArgument (a delete marker; the
  // bucket has no Object Lock; a retain-until not in the future).
  virtual Status SetObjectRetention(const std::string& bucket, const std::string& key,
                                    const std::string& s3_version_id, RetentionMode mode,
                                    int64_t retain_until_unix_ms, LockBypass bypass) = 0;
  // Places or releases a legal hold; errors as SetObjectRetention.
  virtual Status SetObjectLegalHold(const std::string& bucket, const std::string& key,
                                    const std::string& s3_version_id, bool on) = 0;
  // Whether the user may bypass GOVERNANCE retention (S3's
  // s3:BypassGovernanceRetention), as the operator set it; false for users
  // never set.
  virtual Status SetUserMayBypassGovernance(const std::string& user_id, bool allowed) = 0;
  virtual Result<bool> UserMayBypassGovernance(const std::string& user_id) = 0;

  // ---- Holds (schema v7; see HoldScope above) ------------------------------
  // Places `hold` (placed_unix_ms is set by the caller). kVersion: target is
  // resolved from bucket, key and s3_version_id (kNotFound if no such
  // version). kBucket, kUser, kProvider: kNotFound for an unknown bucket,
  // user (no access key and no bucket) or provider (no node). kAlreadyExists
  // for a hold id in use. Returns the hold as stored.
  virtual Result<Hold> PlaceHold(const Hold& hold) = 0;
  // kNotFound; kConflict if already released. Returns the released hold.
  virtual Result<Hold> ReleaseHold(const std::string& hold_id, const std::string& released_by,
                                   const std::string& reason, int64_t now_unix_ms) = 0;
  // Active holds, or every hold ever placed, by placement time.
  virtual Result<std::vector<Hold>> ListHolds(bool include_released) = 0;

  // ---- Deletion notices (schema v7; gateway/deletion_notices.h) --------------
  // Webhook endpoints of a user's account, by URL.
  virtual Result<std::vector<std::string>> UserWebhooks(const std::string& user_id) = 0;
  virtual Status AddUserWebhook(const std::string& user_id, const std::string& url) = 0;
  virtual Status RemoveUserWebhook(const std::string& user_id, const std::string& url) = 0;  // kNotFound
  // Records a new notice with one delivery per entry of `notice.deliveries`
  // (due at once). kAlreadyExists for an id in use.
  virtual Status CreateDeletionNotice(const DeletionNotice& notice) = 0;
  // Every notice with its deliveries, newest first (waiting ones only if
  // `waiting_only`).
  virtual Result<std::vector<DeletionNotice>> ListDeletionNotices(bool waiting_only) = 0;
  // Records one delivery attempt: delivered, or due again at
  // `next_attempt_unix_ms`. kNotFound.
  virtual Status RecordNoticeDelivery(const std::string& notice_id, const std::string& url, bool delivered,
                                      const std::string& result, int64_t now_unix_ms,
                                      int64_t next_attempt_unix_ms) = 0;
  // Sets a waiting notice's state and outcome (kConflict unless it is
  // waiting; kNotFound).
  virtual Status SetNoticeOutcome(const std::string& notice_id, NoticeState state, const std::string& outcome,
                                  int64_t now_unix_ms) = 0;
  // Deletes every version, upload and bucket of `user_id`, then its access
  // keys, webhooks and settings, in one transaction: every version passes the
  // removal guard, so one held or retained version refuses all of it (kLocked
  // naming it, nothing changed). kConflict while a write is in flight in one
  // of its buckets, or when `notice_id` (the deletion notice executing) is
  // given and no longer waiting; that notice is marked executed in the same
  // transaction, so a cancel and an execution never both win.
  virtual Result<UserDataDeletion> DeleteUserData(const std::string& user_id, int64_t now_unix_ms,
                                                  const std::string& notice_id = "") = 0;
  // Whether the shard copy (version_id, shard_index) on node_id may be
  // deleted from that node now: kConflict if the catalogue records the
  // committed shard there (the live copy, or a write in flight plans it
  // there), kLocked if an active hold names the version. The gateway asks
  // before it authorises a node to delete (docs/node-api.md).
  virtual Status CheckShardCopyDeletable(const std::string& version_id, int shard_index,
                                         const std::string& node_id) = 0;

  // Reporting.
  // Erasure-coded version rows (every row that owns shards: objects, and
  // multipart parts once they exist) by how many more shards each can lose
  // and still be read: (kOk shards) - k. A version with every shard kOk
  // has m to spare; a negative count is unreadable now. Shards recorded at
  // one of `unavailable_node_ids` (nodes down now, whether or not their
  // shards are recorded missing yet) do not count: the margin is what reads
  // have right now. Cost: one pass over object_versions (a primary-key probe
  // of shards per row) plus the damaged versions, found through
  // shards_not_ok and shards_by_node -- for status pages and metrics, not
  // for request paths.
  virtual Result<std::map<int, int64_t>> CountVersionsBySpareShards(
      const std::vector<std::string>& unavailable_node_ids) = 0;
  // Shard copies waiting in the GC queue (a count over the queue, which is
  // normally short).
  virtual Result<int64_t> CountGcQueue() = 0;

  // Metadata backup (gateway/meta_backup.h).
  // Writes a consistent snapshot of the whole store to `file` (which must
  // not exist), on a connection of its own: readers and writers go on
  // meanwhile (WAL).
  virtual Status BackupTo(const std::filesystem::path& file) = 0;
  // Adds every row of the snapshot in `file` (a BackupTo file, of this or an
  // older schema version: it is migrated first) that the store does not
  // have, table by table, in one transaction. Rows the store has are kept.
  // Writes in flight and the GC queue are not imported (see the .cpp).
  virtual Status ImportFrom(const std::filesystem::path& file) = 0;

  // Drains (schema v4, table drains).
  virtual Result<std::vector<Drain>> ListDrains() = 0;
  // Starts draining; starting again is a no-op. kConflict if already retired.
  virtual Status StartDrain(DrainScope scope, const std::string& name, int64_t now_unix_ms) = 0;
  // Forgets a drain that is not retired. kNotFound if none, kConflict if retired.
  virtual Status CancelDrain(DrainScope scope, const std::string& name) = 0;
  // What is recorded on `node_ids`, through the shard-location index.
  virtual Result<NodeContents> CountNodeContents(const std::vector<std::string>& node_ids) = 0;
  // In one transaction: if nothing is recorded on `node_ids` (the scope's
  // nodes), marks the draining scope retired and drops the GC queue's items
  // for those nodes (their disks are about to be wiped). Returns what is
  // still there: non-empty means refused and nothing changed. kNotFound if
  // the scope is not draining; retiring a retired scope again is a no-op.
  // With a notice id (a provider deletion notice executing), that notice
  // must be waiting (kConflict otherwise) and is marked executed in the same
  // transaction.
  virtual Result<NodeContents> RetireDrain(DrainScope scope, const std::string& name,
                                           const std::vector<std::string>& node_ids, int64_t now_unix_ms,
                                           const std::string& notice_id = "") = 0;

  // --- The notice ledger (schema v5). Append-only: nothing here rewrites or
  // removes an entry, a subtree or a tree head.
  // Appends `entry` with the complete subtrees it completes, in one
  // transaction. kConflict, writing nothing, unless entry.index equals the
  // number of entries (another writer appended first: recompute and retry).
  virtual Status AppendLedgerEntry(const LedgerEntryRecord& entry,
                                   const std::vector<LedgerNodeRecord>& completed_nodes) = 0;
  virtual Result<uint64_t> LedgerSize() = 0;  // O(log n)
  // Entries with index >= first, in index order, at most `limit`.
  virtual Result<std::vector<LedgerEntryRecord>> LedgerEntries(uint64_t first, int limit) = 0;
  // Hashes of complete subtrees in the order asked (level 0: leaf hashes),
  // read in one transaction. kNotFound if one is not stored.
  virtual Result<std::vector<std::string>> LedgerSubtreeHashes(const std::vector<LedgerNodeId>& ids) = 0;
  // Stores a signed tree head and returns it with its seq. kConflict if it
  // covers more entries than the log holds, is smaller or older than the
  // latest head stored, or does not name the latest head's hash (or zeros,
  // for the first) as its previous one: another writer signed meanwhile.
  virtual Result<LedgerTreeHeadRecord> AddLedgerTreeHead(const LedgerTreeHeadRecord& head) = 0;
  virtual Result<std::optional<LedgerTreeHeadRecord>> LatestLedgerTreeHead() = 0;
  // The latest head signed for exactly `tree_size` entries, if any.
  virtual Result<std::optional<LedgerTreeHeadRecord>> LedgerTreeHeadOfSize(uint64_t tree_size) = 0;
  // Heads with seq > after_seq, in signing order, at most `limit`.
  virtual Result<std::vector<LedgerTreeHeadRecord>> LedgerTreeHeads(int64_t after_seq, int limit) = 0;
};

// Opens (creating if needed) the SQLite store at `path`, in WAL mode with
// synchronous=FULL, and applies schema migrations. `clock` stamps GC queue
// entries (GcItem::queued_unix_ms) and must outlive the store.
Result<std::unique_ptr<MetaStore>> OpenSqliteStore(const std::filesystem::path& path,
                                                   const Clock& clock = SystemClock());

}  // namespace holdfast::meta
