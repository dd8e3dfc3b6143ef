// The status and drill documents of docs/admin-api.md, as far as the
// dashboard reads them.

export interface NodeStatus {
  id: string;
  provider: string;
  site: string;
  endpoint: string;
  state: 'up' | 'suspect' | 'down' | 'lost';
  read_only: boolean;
  used_bytes: number;
  capacity_bytes: number;
  shard_count: number;
}

export interface DrainEntry {
  scope: string;
  name: string;
  state: string;
  objects_left: number;
  shards_left: number;
  bytes_left: number;
  pending_shards: number;
  ready_to_retire: boolean;
}

export interface Status {
  nodes: NodeStatus[];
  loss_grace_ms: number;
  under_protected_versions: number | null;
  repair: {
    shards_rebuilt: number;
    bytes_rebuilt: number;
    failures: number;
    unplaceable_shards: number;
    unreadable_versions: number;
    rate_bytes_per_second: number;
    rate_limit_bytes_per_second: number;
  };
  scrub: {
    bytes_verified: number;
    shards_verified: number;
    corrupt_found: number;
    read_errors: number;
    oldest_pass_completed_unix_ms: number;
  };
  versions?: number | null;
  versions_by_spare_shards?: Record<string, number> | null;
  policy?: { provider_losses: number; server_losses: number };
  gc?: { queued_shards: number } | null;
  drain?: {
    drains: DrainEntry[];
    bytes_moved: number;
    eta_seconds: number | null;
    blocked?: { reason: string }[];
  };
  metadata_backup?: { last_unix_ms: number; last_size_bytes: number; last_error: string };
}

export interface Drill {
  versions_affected: number;
  unreadable: { versions: number; bytes: number };
  degraded: { versions: number; bytes: number };
  repair: {
    shards_to_rebuild: number;
    shards_waiting_for_nodes: number;
    waiting_bytes: number;
    write_bytes: number;
    estimated_seconds: number;
  };
}
