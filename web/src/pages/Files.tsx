import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, exportUrl, SearchHit, Session, Usage } from '../api';
import { ConfirmButton } from '../components/Confirm';
import { Notice } from '../components/Notice';
import { formatBytes, formatDate, plural } from '../format';
import { navigate, useLocation } from '../router';
import * as s3 from '../s3';
import { Uploader } from '../upload';
import { ShareDialog } from './ShareDialog';
import { UploadPanel } from './UploadPanel';

type SortKey = 'name-asc' | 'name-desc' | 'date-desc' | 'date-asc' | 'size-desc' | 'size-asc';

const kSorts: [SortKey, string][] = [
  ['name-asc', 'Name, A to Z'],
  ['name-desc', 'Name, Z to A'],
  ['date-desc', 'Newest first'],
  ['date-asc', 'Oldest first'],
  ['size-desc', 'Largest first'],
  ['size-asc', 'Smallest first'],
];

interface Row {
  key: string;
  name: string; // what is shown: the key below the current folder, or the whole key in search results
  size: number;
  lastModifiedMs: number;
}

export function FilesPage(props: { session: Session; uploader: Uploader }) {
  const loc = useLocation();
  const bucket = loc.query.get('bucket') || props.session.home_bucket;
  const prefix = loc.query.get('prefix') || '';
  // The listing remembers which folder it is of, so that another folder's
  // entries are never shown while the new one loads.
  const [listed, setListed] = useState<{ where: string; listing: s3.Listing } | null>(null);
  const where = `${bucket}/${prefix}`;
  const listing = listed && listed.where === where ? listed.listing : null;
  const [usage, setUsage] = useState<Usage | null>(null);
  const [error, setError] = useState('');
  const [message, setMessage] = useState('');
  const [reload, setReload] = useState(0);
  const [sort, setSort] = useState<SortKey>(() => (localStorage.getItem('holdfast:sort') as SortKey) || 'name-asc');
  const [search, setSearch] = useState('');
  const [hits, setHits] = useState<{ q: string; rows: SearchHit[]; truncated: boolean } | null>(null);
  const [sharing, setSharing] = useState<string | null>(null);
  const [newFolder, setNewFolder] = useState<string | null>(null);

  const refresh = () => setReload((r) => r + 1);

  useEffect(() => {
    let stale = false;
    setError('');
    s3.listObjects(bucket, prefix)
      .then((l) => !stale && setListed({ where, listing: l }))
      .catch((e) => !stale && setError(`Could not list your files: ${e.message}`));
    api<Usage>('GET', '/api/usage')
      .then((u) => !stale && setUsage(u))
      .catch(() => {});
    return () => {
      stale = true;
    };
  }, [bucket, prefix, reload]);

  // Search as you type, a moment after the last key.
  useEffect(() => {
    const q = search.trim();
    if (!q) {
      setHits(null);
      return;
    }
    let stale = false;
    const timer = setTimeout(() => {
      api<{ objects: SearchHit[]; truncated: boolean }>(
        'GET',
        `/api/search?${new URLSearchParams({ bucket, q })}`,
      )
        .then((r) => !stale && setHits({ q, rows: r.objects, truncated: r.truncated }))
        .catch((e) => !stale && setError(`Search failed: ${e.message}`));
    }, 200);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [search, bucket, reload]);

  // A finished upload shows up in the list.
  useEffect(() => {
    let done = -1;
    return props.uploader.subscribe((items) => {
      const n = items.filter((i) => i.state === 'done').length;
      if (done >= 0 && n > done) refresh();
      done = n;
    });
  }, [props.uploader]);

  const rows: Row[] = useMemo(() => {
    const list: Row[] = hits
      ? hits.rows.map((h) => ({ key: h.key, name: h.key, size: h.size, lastModifiedMs: h.last_modified_unix_ms }))
      : (listing?.files ?? [])
          .filter((f) => f.key !== prefix) // the folder's own marker
          .map((f) => ({ key: f.key, name: f.key.slice(prefix.length), size: f.size, lastModifiedMs: f.lastModifiedMs }));
    const [field, dir] = sort.split('-');
    const sign = dir === 'asc' ? 1 : -1;
    return list.sort((a, b) => {
      const d =
        field === 'size'
          ? a.size - b.size
          : field === 'date'
            ? a.lastModifiedMs - b.lastModifiedMs
            : a.name.localeCompare(b.name, undefined, { numeric: true, sensitivity: 'base' });
      return d * sign || a.name.localeCompare(b.name);
    });
  }, [listing, hits, sort, prefix]);

  const folders = hits ? [] : (listing?.folders ?? []).slice().sort((a, b) => (sort === 'name-desc' ? b.localeCompare(a) : a.localeCompare(b)));

  const goTo = (p: string) => {
    const q = new URLSearchParams();
    if (bucket !== props.session.home_bucket) q.set('bucket', bucket);
    if (p) q.set('prefix', p);
    const qs = q.toString();
    setSearch('');
    navigate(`/files${qs ? `?${qs}` : ''}`);
  };

  const remove = async (key: string) => {
    setError('');
    setMessage('');
    try {
      await s3.deleteObject(bucket, key);
      setMessage(`Deleted “${key}”.`);
      refresh();
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      setError(`“${key}” was not deleted: ${why}`);
    }
  };

  const makeFolder = async (e: Event) => {
    e.preventDefault();
    const name = (newFolder ?? '').trim().replace(/^\/+|\/+$/g, '');
    if (!name) return;
    try {
      await s3.createFolder(bucket, `${prefix}${name}/`);
      setNewFolder(null);
      goTo(`${prefix}${name}/`);
    } catch (err) {
      setError(`Could not create the folder: ${err instanceof Error ? err.message : err}`);
    }
  };

  const bucketUsage = usage?.buckets.find((b) => b.name === bucket);
  const crumbs = prefix.split('/').filter(Boolean);

  return (
    <div class="page">
      <div class="page-head">
        <div>
          <h1 tabIndex={-1}>My files</h1>
          <p class="muted" data-testid="usage">
            {bucketUsage
              ? `${plural(bucketUsage.objects, 'file')} · ${formatBytes(bucketUsage.bytes)} used`
              : usage
                ? `${plural(usage.objects, 'file')} · ${formatBytes(usage.bytes)} used`
                : ' '}
            {usage && usage.buckets.length > 1 && ` (${formatBytes(usage.bytes)} in all your buckets)`}
          </p>
        </div>
        {usage && usage.buckets.length > 1 && (
          <div class="field inline">
            <label for="bucket">Bucket</label>
            <select
              id="bucket"
              value={bucket}
              onChange={(e) => navigate(`/files?bucket=${encodeURIComponent((e.currentTarget as HTMLSelectElement).value)}`)}
            >
              {usage.buckets.map((b) => (
                <option key={b.name} value={b.name}>
                  {b.name}
                </option>
              ))}
            </select>
          </div>
        )}
      </div>

      <UploadPanel uploader={props.uploader} bucket={bucket} prefix={prefix} />

      {error && (
        <Notice kind="error" onDismiss={() => setError('')}>
          {error}
        </Notice>
      )}
      {message && (
        <Notice kind="success" onDismiss={() => setMessage('')}>
          {message}
        </Notice>
      )}

      <section class="card" aria-labelledby="list-title">
        <div class="list-head">
          <nav aria-label="Folder" class="crumbs" id="list-title">
            <a href="#" onClick={(e) => (e.preventDefault(), goTo(''))} aria-current={prefix ? undefined : 'location'}>
              {bucket}
            </a>
            {crumbs.map((c, i) => {
              const p = `${crumbs.slice(0, i + 1).join('/')}/`;
              return (
                <span key={p}>
                  <span class="sep" aria-hidden="true">
                    /
                  </span>
                  <a href="#" onClick={(e) => (e.preventDefault(), goTo(p))} aria-current={p === prefix ? 'location' : undefined}>
                    {c}
                  </a>
                </span>
              );
            })}
          </nav>
          <div class="toolbar">
            <div class="field inline grow">
              <label for="search" class="visually-hidden">
                Search files
              </label>
              <input
                id="search"
                type="search"
                placeholder="Search by name…"
                value={search}
                onInput={(e) => setSearch((e.currentTarget as HTMLInputElement).value)}
              />
            </div>
            <div class="field inline">
              <label for="sort" class="visually-hidden">
                Sort
              </label>
              <select
                id="sort"
                value={sort}
                onChange={(e) => {
                  const v = (e.currentTarget as HTMLSelectElement).value as SortKey;
                  setSort(v);
                  localStorage.setItem('holdfast:sort', v);
                }}
              >
                {kSorts.map(([k, label]) => (
                  <option key={k} value={k}>
                    {label}
                  </option>
                ))}
              </select>
            </div>
            <button type="button" class="button" onClick={() => setNewFolder(newFolder === null ? '' : null)} aria-expanded={newFolder !== null}>
              New folder
            </button>
            <a class="button" href={exportUrl(bucket, prefix)} download>
              Download everything
            </a>
          </div>
        </div>

        {newFolder !== null && (
          <form class="newfolder" onSubmit={makeFolder}>
            <label for="folder-name">Folder name</label>
            <input
              id="folder-name"
              value={newFolder}
              autoFocus
              onInput={(e) => setNewFolder((e.currentTarget as HTMLInputElement).value)}
              onKeyDown={(e) => e.key === 'Escape' && setNewFolder(null)}
            />
            <button type="submit" class="button primary small">
              Create
            </button>
            <button type="button" class="button subtle small" onClick={() => setNewFolder(null)}>
              Cancel
            </button>
          </form>
        )}

        {hits && (
          <p class="muted search-summary" role="status">
            {plural(hits.rows.length, 'file')} in {bucket} match “{hits.q}”{hits.truncated ? ' (showing the first 1000)' : ''}.{' '}
            <button type="button" class="link-button" onClick={() => setSearch('')}>
              Clear search
            </button>
          </p>
        )}

        {listing === null && !error ? (
          <p class="empty" aria-busy="true">
            Loading…
          </p>
        ) : folders.length === 0 && rows.length === 0 ? (
          <p class="empty">
            {hits ? 'Nothing matches.' : prefix ? 'This folder is empty. Drop files above to add some.' : 'No files yet. Drop files above, or choose them, to upload.'}
          </p>
        ) : (
          <table class="files">
            <caption class="visually-hidden">Files in {prefix ? `${bucket}/${prefix}` : bucket}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" class="num">
                  Size
                </th>
                <th scope="col">Modified</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {folders.map((f) => (
                <tr key={f} class="folder">
                  <td data-label="Name">
                    <a
                      href={`/files?prefix=${encodeURIComponent(f)}`}
                      onClick={(e) => (e.preventDefault(), goTo(f))}
                      class="name"
                    >
                      <span class="icon folder-icon" aria-hidden="true" />
                      {f.slice(prefix.length)}
                    </a>
                  </td>
                  <td data-label="Size" class="num muted">
                    Folder
                  </td>
                  <td data-label="Modified" class="muted">
                    —
                  </td>
                  <td class="actions" />
                </tr>
              ))}
              {rows.map((r) => (
                <tr key={r.key} data-key={r.key}>
                  <td data-label="Name">
                    <span class="name">
                      <span class="icon file-icon" aria-hidden="true" />
                      <span class="filename">{r.name}</span>
                    </span>
                  </td>
                  <td data-label="Size" class="num">
                    {formatBytes(r.size)}
                  </td>
                  <td data-label="Modified">{formatDate(r.lastModifiedMs)}</td>
                  <td class="actions">
                    <a class="button small" href={s3.objectUrl(bucket, r.key)} download={baseName(r.key)} aria-label={`Download ${r.name}`}>
                      Download
                    </a>
                    <button type="button" class="button small" onClick={() => setSharing(r.key)} aria-label={`Share ${r.name}`}>
                      Share
                    </button>
                    <ConfirmButton
                      label="Delete"
                      accessibleLabel={`Delete ${r.name}`}
                      question="Delete?"
                      confirmLabel="Yes, delete"
                      danger
                      onConfirm={() => remove(r.key)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {listing?.truncated && !hits && <p class="muted">Only the first {listing.files.length + listing.folders.length} entries are shown. Search to find others.</p>}
      </section>

      {sharing !== null && <ShareDialog bucket={bucket} objectKey={sharing} onClose={() => setSharing(null)} />}
    </div>
  );
}

function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}
