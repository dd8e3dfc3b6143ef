// Web account, session, share-link and usage statements of the SQLite store
// (schema v10; docs/web.md). Internal to meta/; every function runs inside
// the caller's transaction.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "meta/meta_store.h"
#include "meta/sqlite_db.h"

namespace holdfast::meta::sqlite {

Result<std::vector<AccessKey>> LoadAccessKeys(Db& db, const std::string& user_id);
Status RemoveAccessKey(Db& db, const std::string& user_id, const std::string& access_key_id);

Status InsertSignUp(Db& db, const WebAccount& account, const Bucket& home_bucket);
Status UpsertWebAccount(Db& db, const WebAccount& account);
Result<WebAccount> LoadWebAccount(Db& db, const std::string& user_id);

Status InsertWebSession(Db& db, const WebSession& session);
Result<WebSession> LoadWebSession(Db& db, const std::string& token_sha256, int64_t now_unix_ms);
Status RemoveWebSession(Db& db, const std::string& token_sha256, int64_t now_unix_ms);

Status InsertShareLink(Db& db, const ShareLink& link);
Result<ShareLink> LoadShareLink(Db& db, const std::string& link_id);
Result<std::vector<ShareLink>> LoadShareLinks(Db& db, const std::string& owner_id, int limit);
Status MarkShareLinkRevoked(Db& db, const std::string& owner_id, const std::string& link_id, int64_t now_unix_ms);
Status AddShareLinkDownload(Db& db, const std::string& link_id);

Result<std::vector<BucketUsage>> LoadUsageOfUser(Db& db, const std::string& user_id);

// Account deletion (RemoveUserData): the account, its sessions and links.
Status RemoveWebData(Db& db, const std::string& user_id);

}  // namespace holdfast::meta::sqlite
