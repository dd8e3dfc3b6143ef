// Parsed bucket policies, cached per bucket so that a request pays for a
// string comparison, not a JSON parse (docs/s3-compatibility.md).
//
// The store is the truth: every request reads the bucket row (policy text
// included) anyway, and the cache re-parses whenever that text differs from
// the one it parsed last. A change is therefore seen by the next request,
// also one served by another gateway sharing the store; nothing needs to be
// told to invalidate. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "meta/meta_store.h"
#include "s3/bucket_policy.h"

namespace holdfast::gateway {

class BucketPolicyCache {
 public:
  // The parsed policy of `bucket`, as read from the store; nullptr if it has
  // none. A stored policy that no longer parses (a rule tightened since it
  // was stored) grants nothing: an empty policy, and a log line.
  std::shared_ptr<const s3::BucketPolicy> Get(const meta::Bucket& bucket);

 private:
  struct Entry {
    std::string text;
    std::shared_ptr<const s3::BucketPolicy> parsed;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // by bucket name
};

}  // namespace holdfast::gateway
