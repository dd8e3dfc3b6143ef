import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api';
import { Notice } from '../components/Notice';
import { Fill, Progress } from '../components/Progress';
import { formatBytes, formatDate, formatDuration, plural } from '../format';
import type { Drill, NodeStatus, Status } from '../status';

const kRefreshMs = 2000;

const kStateText: Record<string, string> = { up: 'Up', suspect: 'Suspect', down: 'Down', lost: 'Lost' };

// The operator's view of the cluster (GET /api/admin/status, the document of
// docs/admin-api.md), refreshed every two seconds.
export function DashboardPage() {
  const [status, setStatus] = useState<Status | null>(null);
  const [error, setError] = useState('');
  const [updated, setUpdated] = useState(0);

  useEffect(() => {
    let timer = 0;
    let stopped = false;
    const tick = async () => {
      try {
        const s = await api<Status>('GET', '/api/admin/status');
        if (stopped) return;
        setStatus(s);
        setUpdated(Date.now());
        setError('');
      } catch (e) {
        if (!stopped) setError(`The status could not be read: ${e instanceof Error ? e.message : e}. Retrying.`);
      }
      if (!stopped) timer = window.setTimeout(tick, kRefreshMs);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);

  return (
    <div class="page wide">
      <div class="page-head">
        <div>
          <h1 tabIndex={-1}>Cluster dashboard</h1>
          <p class="muted" data-testid="updated">
            {updated ? `Updated ${new Date(updated).toLocaleTimeString()} · refreshes every ${kRefreshMs / 1000} s` : 'Loading…'}
          </p>
        </div>
      </div>
      {error && <Notice kind="warning">{error}</Notice>}
      {status && <Overview status={status} />}
      {status && <Providers status={status} />}
      {status && <Work status={status} />}
    </div>
  );
}

function Overview({ status }: { status: Status }) {
  const nodes = status.nodes;
  const up = nodes.filter((n) => n.state === 'up' || n.state === 'suspect').length;
  const used = nodes.reduce((s, n) => s + n.used_bytes, 0);
  const capacity = nodes.reduce((s, n) => s + n.capacity_bytes, 0);
  const under = status.under_protected_versions;
  // Shards on nodes that are down but not yet lost are not under-protected
  // (repair waits for the loss grace: a restart must not move data); say so
  // rather than claim full redundancy while they are away.
  const away = nodes.filter((n) => n.state === 'down');
  const awayShards = away.reduce((s, n) => s + n.shard_count, 0);
  const underNote = under
    ? 'repair is restoring them'
    : away.length
      ? `${awayShards.toLocaleString()} shards on ${away.length} down node${away.length === 1 ? '' : 's'}: rebuilt if they stay down past the loss grace`
      : 'full redundancy';
  return (
    <section class="tiles" aria-label="Summary">
      <div class={`tile ${up < nodes.length ? 'warn' : 'ok'}`}>
        <span class="tile-label">Nodes up</span>
        <span class="tile-value" data-testid="nodes-up">
          {up} of {nodes.length}
        </span>
        <span class="tile-note">{nodes.length - up ? `${nodes.length - up} down or lost` : 'all heartbeating'}</span>
      </div>
      <div class="tile">
        <span class="tile-label">Objects</span>
        <span class="tile-value">{status.versions === null || status.versions === undefined ? '—' : status.versions.toLocaleString()}</span>
        <span class="tile-note">object versions with shards</span>
      </div>
      <div class={`tile ${under || away.length ? 'warn' : 'ok'}`}>
        <span class="tile-label">Under-protected</span>
        <span class="tile-value" data-testid="under-protected">
          {under === null ? '—' : under.toLocaleString()}
        </span>
        <span class="tile-note" data-testid="under-protected-note">{underNote}</span>
      </div>
      <div class="tile">
        <span class="tile-label">Policy</span>
        <span class="tile-value small">
          {status.policy ? `${plural(status.policy.provider_losses, 'provider')} + ${plural(status.policy.server_losses, 'server')}` : '—'}
        </span>
        <span class="tile-note">can be lost without losing data</span>
      </div>
      <div class="tile">
        <span class="tile-label">Stored</span>
        <span class="tile-value small">{formatBytes(used)}</span>
        <span class="tile-note">of {formatBytes(capacity)} on all nodes</span>
      </div>
    </section>
  );
}

// Providers -> sites -> nodes, each provider with its loss drill.
function Providers({ status }: { status: Status }) {
  const byProvider = new Map<string, Map<string, NodeStatus[]>>();
  for (const n of status.nodes) {
    if (!byProvider.has(n.provider)) byProvider.set(n.provider, new Map());
    const sites = byProvider.get(n.provider)!;
    if (!sites.has(n.site)) sites.set(n.site, []);
    sites.get(n.site)!.push(n);
  }
  const providers = [...byProvider.keys()].sort();
  return (
    <section aria-labelledby="providers-title">
      <h2 id="providers-title" class="section-title">
        Providers, sites and nodes
      </h2>
      <div class="providers">
        {providers.map((p) => (
          <ProviderCard key={p} name={p} sites={byProvider.get(p)!} />
        ))}
      </div>
      <Margin status={status} />
    </section>
  );
}

function ProviderCard(props: { name: string; sites: Map<string, NodeStatus[]> }) {
  const nodes = [...props.sites.values()].flat();
  const up = nodes.filter((n) => n.state === 'up' || n.state === 'suspect').length;
  const used = nodes.reduce((s, n) => s + n.used_bytes, 0);
  const capacity = nodes.reduce((s, n) => s + n.capacity_bytes, 0);
  const shards = nodes.reduce((s, n) => s + n.shard_count, 0);
  return (
    <article class="card provider" data-provider={props.name} aria-labelledby={`prov-${props.name}`}>
      <header class="provider-head">
        <div>
          <h3 id={`prov-${props.name}`}>{props.name}</h3>
          <p class="muted small">
            <span class={up < nodes.length ? 'text-warn' : ''}>
              {up} of {plural(nodes.length, 'node')} up
            </span>{' '}
            · {plural(shards, 'shard')} · {formatBytes(used)} used
          </p>
        </div>
        <Fill value={used} max={capacity} label={`${props.name} fill`} />
      </header>
      {[...props.sites.keys()].sort().map((site) => (
        <div class="site" key={site}>
          <h4>{site}</h4>
          <table class="nodes">
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">State</th>
                <th scope="col">Fill</th>
                <th scope="col" class="num">
                  Shards
                </th>
              </tr>
            </thead>
            <tbody>
              {props.sites
                .get(site)!
                .slice()
                .sort((a, b) => a.id.localeCompare(b.id))
                .map((n) => (
                  <tr key={n.id} data-node={n.id} data-state={n.state}>
                    <td data-label="Node" class="mono">
                      {n.id}
                    </td>
                    <td data-label="State">
                      <span class={`state-tag ${n.state}`}>{kStateText[n.state] ?? n.state}</span>
                      {n.read_only && <span class="state-tag warn">read-only</span>}
                    </td>
                    <td data-label="Fill">
                      <span class="fill-cell">
                        <Fill value={n.used_bytes} max={n.capacity_bytes} label={`${n.id} fill`} />
                        <span class="small muted">{formatBytes(n.used_bytes)}</span>
                      </span>
                    </td>
                    <td data-label="Shards" class="num">
                      {n.shard_count.toLocaleString()}
                    </td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      ))}
      <DrillPanel provider={props.name} />
    </article>
  );
}

function DrillPanel(props: { provider: string }) {
  const [drill, setDrill] = useState<Drill | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const result = useRef<HTMLDivElement>(null);

  const run = async () => {
    setBusy(true);
    setError('');
    try {
      setDrill(await api<Drill>('GET', `/api/admin/drill?lose=${encodeURIComponent(`provider:${props.provider}`)}`));
    } catch (e) {
      setDrill(null);
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const toProtect = drill ? drill.repair.write_bytes + drill.repair.waiting_bytes : 0;
  return (
    <div class="drill">
      <button type="button" class="button" onClick={run} disabled={busy} aria-describedby={`drill-${props.provider}`}>
        {busy ? 'Working it out…' : `Drill: lose ${props.provider}`}
      </button>
      <div id={`drill-${props.provider}`} class="drill-result" ref={result} aria-live="polite">
        {error && <p class="text-error">The drill failed: {error}</p>}
        {drill && (
          <>
            <p class="drill-headline" data-testid="drill-headline">
              If {props.provider} vanished:{' '}
              <strong class={drill.unreadable.versions ? 'text-error' : 'text-ok'}>{plural(drill.unreadable.versions, 'object')} lost</strong>,{' '}
              <strong>{drill.degraded.versions.toLocaleString()} degraded</strong>, <strong>{formatBytes(toProtect)} to re-protect</strong>
            </p>
            <p class="muted small">
              {drill.repair.shards_to_rebuild
                ? `Repair would rebuild ${plural(drill.repair.shards_to_rebuild, 'shard')} (${formatBytes(drill.repair.write_bytes)}) in about ${formatDuration(drill.repair.estimated_seconds)}. `
                : ''}
              {drill.repair.shards_waiting_for_nodes
                ? `${plural(drill.repair.shards_waiting_for_nodes, 'shard')} (${formatBytes(drill.repair.waiting_bytes)}) would wait for new nodes, because no other provider may hold them. `
                : ''}
              {drill.unreadable.versions ? `${formatBytes(drill.unreadable.bytes)} could not be read.` : ''}
              Predicted from the catalogue; nothing was touched.
            </p>
          </>
        )}
      </div>
    </div>
  );
}

const kMarginText = (spare: number) =>
  spare < 0 ? 'unreadable now' : spare === 0 ? 'no spare: one more loss makes them unreadable' : `can lose ${plural(spare, 'more shard')}`;

function Margin({ status }: { status: Status }) {
  const entries = Object.entries(status.versions_by_spare_shards ?? {})
    .map(([k, v]) => [Number(k), v] as [number, number])
    .sort((a, b) => b[0] - a[0]);
  const max = Math.max(1, ...entries.map(([, v]) => v));
  return (
    <div class="card" aria-labelledby="margin-title">
      <h3 id="margin-title">Objects by remaining margin</h3>
      {entries.length === 0 ? (
        <p class="empty">No objects stored yet.</p>
      ) : (
        <ul class="bars">
          {entries.map(([spare, count]) => (
            <li key={spare} class={`bar-row ${spare < 0 ? 'bad' : spare === 0 ? 'risk' : spare === 1 ? 'thin' : 'ok'}`}>
              <span class="bar-label">{kMarginText(spare)}</span>
              <span class="bar-track">
                <span class="bar" style={{ width: `${(count / max) * 100}%` }} />
              </span>
              <span class="bar-value">{count.toLocaleString()}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Work({ status }: { status: Status }) {
  const r = status.repair;
  const sc = status.scrub;
  const drain = status.drain;
  return (
    <section aria-labelledby="work-title">
      <h2 id="work-title" class="section-title">
        Background work
      </h2>
      <div class="work">
        <div class="card">
          <h3>Repair</h3>
          <dl class="facts compact">
            <dt>Under-protected</dt>
            <dd>{status.under_protected_versions ?? '—'}</dd>
            <dt>Shards rebuilt</dt>
            <dd>
              {r.shards_rebuilt.toLocaleString()} ({formatBytes(r.bytes_rebuilt)})
            </dd>
            <dt>Rate</dt>
            <dd>
              {formatBytes(r.rate_bytes_per_second)}/s of {formatBytes(r.rate_limit_bytes_per_second)}/s allowed
            </dd>
            <dt>Waiting for nodes</dt>
            <dd>{plural(r.unplaceable_shards, 'shard')}</dd>
            <dt>Unreadable</dt>
            <dd class={r.unreadable_versions ? 'text-error' : ''}>{r.unreadable_versions}</dd>
            <dt>Failures (retried)</dt>
            <dd>{r.failures}</dd>
          </dl>
        </div>
        <div class="card">
          <h3>Scrub</h3>
          <dl class="facts compact">
            <dt>Verified</dt>
            <dd>
              {formatBytes(sc.bytes_verified)} in {plural(sc.shards_verified, 'shard')}
            </dd>
            <dt>Corrupt found</dt>
            <dd class={sc.corrupt_found ? 'text-warn' : ''}>{sc.corrupt_found}</dd>
            <dt>Read errors</dt>
            <dd>{sc.read_errors}</dd>
            <dt>Every shard checked since</dt>
            <dd>{sc.oldest_pass_completed_unix_ms ? formatDate(sc.oldest_pass_completed_unix_ms) : 'a pass is still running'}</dd>
          </dl>
        </div>
        <div class="card">
          <h3>Drains</h3>
          {!drain || drain.drains.length === 0 ? (
            <p class="empty">No provider or node is being drained.</p>
          ) : (
            <ul class="drains">
              {drain.drains.map((d) => {
                const moved = drain.bytes_moved;
                return (
                  <li key={`${d.scope}:${d.name}`}>
                    <p>
                      <strong>
                        {d.scope} {d.name}
                      </strong>{' '}
                      <span class={`state-tag ${d.state === 'retired' ? 'done' : 'uploading'}`}>{d.state}</span>
                    </p>
                    {d.state !== 'retired' && (
                      <>
                        <Progress value={moved} max={moved + d.bytes_left} label={`Drain of ${d.name}`} />
                        <p class="small muted">
                          {plural(d.objects_left, 'object')} ({formatBytes(d.bytes_left)}) left
                          {drain.eta_seconds !== null && drain.eta_seconds !== undefined ? ` · about ${formatDuration(drain.eta_seconds)}` : ''}
                          {d.ready_to_retire ? ' · ready to retire' : ''}
                        </p>
                      </>
                    )}
                  </li>
                );
              })}
            </ul>
          )}
          {drain && drain.blocked && drain.blocked.length > 0 && (
            <p class="text-warn small">{plural(drain.blocked.length, 'shard')} could not be moved: {drain.blocked[0].reason}</p>
          )}
        </div>
        <div class="card">
          <h3>Housekeeping</h3>
          <dl class="facts compact">
            <dt>Garbage queue</dt>
            <dd>{status.gc ? plural(status.gc.queued_shards, 'shard') : '—'}</dd>
            <dt>Loss grace</dt>
            <dd>{formatDuration(status.loss_grace_ms / 1000)} down before a node counts as lost</dd>
            <dt>Metadata backup</dt>
            <dd>
              {status.metadata_backup?.last_unix_ms
                ? `${formatDate(status.metadata_backup.last_unix_ms)} (${formatBytes(status.metadata_backup.last_size_bytes)})`
                : 'none yet'}
              {status.metadata_backup?.last_error ? ` · last error: ${status.metadata_backup.last_error}` : ''}
            </dd>
          </dl>
        </div>
      </div>
    </section>
  );
}
