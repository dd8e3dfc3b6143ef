// Hold, webhook and deletion-notice statements of the SQLite store (schema
// v7). Internal to meta/; every function runs inside the caller's
// transaction. What holds cover and who checks them: docs/holds.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "meta/meta_store.h"
#include "meta/sqlite_db.h"

namespace holdfast::meta::sqlite {

// The hold part of the removal guard (CheckVersionRemovable): kLocked,
// naming the hold, its scope and case, if an active hold covers the version
// row `version_id` in `bucket` (its own row, or for a completed multipart
// version also its parts' shards). `what` describes the version for the
// message. Costs one probe of the holds_active index when no hold is active.
Status CheckHolds(Db& db, const std::string& version_id, const std::string& bucket, const std::string& what);

// Retiring `node_ids` (a node, or a provider's nodes) wipes their disks:
// kLocked while a provider hold covers the provider (or the node's).
Status CheckRetireAllowed(Db& db, DrainScope scope, const std::string& name);

// A shard of `version_id` leaves `from_node_id` (drain, repair, rebalance):
// if an active provider hold covers that node's provider, the version (and,
// for a part, the version it belongs to) stays covered from now on.
Status RecordHeldDeparture(Db& db, const std::string& version_id, const std::string& from_node_id);

Result<Hold> InsertHold(Db& db, const Hold& hold);
Result<Hold> MarkHoldReleased(Db& db, const std::string& hold_id, const std::string& released_by,
                              const std::string& reason, int64_t now_unix_ms);
Result<std::vector<Hold>> LoadHolds(Db& db, bool include_released);

Result<std::vector<std::string>> LoadUserWebhooks(Db& db, const std::string& user_id);
Status InsertUserWebhook(Db& db, const std::string& user_id, const std::string& url);
Status DeleteUserWebhook(Db& db, const std::string& user_id, const std::string& url);

Status InsertNotice(Db& db, const DeletionNotice& notice);
Result<std::vector<DeletionNotice>> LoadNotices(Db& db, bool waiting_only);
Status UpdateDelivery(Db& db, const std::string& notice_id, const std::string& url, bool delivered,
                      const std::string& result, int64_t now_unix_ms, int64_t next_attempt_unix_ms);
Status UpdateNoticeOutcome(Db& db, const std::string& notice_id, NoticeState state, const std::string& outcome,
                           int64_t now_unix_ms);

// MetaStore::DeleteUserData without the transaction. With a notice id, the
// notice must be waiting and is marked executed in the same transaction.
Result<UserDataDeletion> RemoveUserData(Db& db, const std::string& user_id, int64_t now_unix_ms,
                                        const std::string& notice_id);
// kConflict unless the notice is waiting; then marks it executed with `outcome`.
Status ClaimNotice(Db& db, const std::string& notice_id, const std::string& outcome, int64_t now_unix_ms);
Status CheckCopyDeletable(Db& db, const std::string& version_id, int shard_index, const std::string& node_id);

}  // namespace holdfast::meta::sqlite
