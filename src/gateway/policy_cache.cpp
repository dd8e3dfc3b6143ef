#include "gateway/policy_cache.h"

#include "common/log.h"

namespace holdfast::gateway {

std::shared_ptr<const s3::BucketPolicy> BucketPolicyCache::Get(const meta::Bucket& bucket) {
  std::lock_guard lock(mu_);
  if (bucket.policy.empty()) {
    entries_.erase(bucket.name);  // deleted (or the bucket was recreated without one)
    return nullptr;
  }
  auto it = entries_.find(bucket.name);
  if (it != entries_.end() && it->second.text == bucket.policy) return it->second.parsed;
  auto parsed = s3::ParseBucketPolicy(bucket.policy, bucket.name);
  std::shared_ptr<const s3::BucketPolicy> policy;
  if (auto* error = std::get_if<s3::S3Error>(&parsed)) {
    HF_LOG_ERROR("bucket {}: the stored policy does not parse ({}); it grants nothing", bucket.name,
                 error->message);
    policy = std::make_shared<const s3::BucketPolicy>();
  } else {
    policy = std::make_shared<const s3::BucketPolicy>(std::move(std::get<s3::BucketPolicy>(parsed)));
  }
  entries_[bucket.name] = Entry{bucket.policy, policy};
  return policy;
}

}  // namespace holdfast::gateway
