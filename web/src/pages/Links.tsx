import { useEffect, useState } from 'preact/hooks';
import { api, Link } from '../api';
import { ConfirmButton } from '../components/Confirm';
import { Notice } from '../components/Notice';
import { formatDate, plural } from '../format';

const kStateText = { active: 'Active', expired: 'Expired', revoked: 'Revoked' };

export function LinksPage() {
  const [links, setLinks] = useState<Link[] | null>(null);
  const [error, setError] = useState('');
  const [message, setMessage] = useState('');
  const [reload, setReload] = useState(0);
  const [copied, setCopied] = useState('');

  useEffect(() => {
    api<{ links: Link[] }>('GET', '/api/links')
      .then((r) => setLinks(r.links))
      .catch((e) => setError(`Could not load your links: ${e.message}`));
  }, [reload]);

  const revoke = async (l: Link) => {
    setError('');
    try {
      await api('DELETE', `/api/links/${encodeURIComponent(l.id)}`);
      setMessage(`The link to “${l.key}” is revoked: it no longer works.`);
      setReload((r) => r + 1);
    } catch (e) {
      setError(`Could not revoke the link: ${e instanceof Error ? e.message : e}`);
    }
  };

  const copy = async (l: Link) => {
    const url = `${location.origin}${l.url}`;
    try {
      await navigator.clipboard.writeText(url);
      setCopied(`Copied the link to “${l.key}”.`);
    } catch {
      setCopied(url);
    }
  };

  const active = links?.filter((l) => l.state === 'active').length ?? 0;
  return (
    <div class="page">
      <div class="page-head">
        <div>
          <h1 tabIndex={-1}>Share links</h1>
          <p class="muted">{links ? `${plural(links.length, 'link')}, ${active} active` : ' '}</p>
        </div>
      </div>
      {error && <Notice kind="error">{error}</Notice>}
      {message && (
        <Notice kind="success" onDismiss={() => setMessage('')}>
          {message}
        </Notice>
      )}
      <p class="visually-hidden" role="status">
        {copied}
      </p>
      <section class="card">
        {links === null ? (
          <p class="empty">Loading…</p>
        ) : links.length === 0 ? (
          <p class="empty">
            No links yet. On <a href="/files">My files</a>, choose Share beside a file to make one.
          </p>
        ) : (
          <table class="links">
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Password</th>
                <th scope="col" class="num">
                  Downloads
                </th>
                <th scope="col">State</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {links.map((l) => (
                <tr key={l.id} data-link={l.id} class={l.state}>
                  <td data-label="File">
                    <span class="filename">{l.key}</span>
                    <span class="muted small block mono">{l.url}</span>
                  </td>
                  <td data-label="Created">{formatDate(l.created_unix_ms)}</td>
                  <td data-label="Expires">{l.expires_unix_ms ? formatDate(l.expires_unix_ms) : 'Never'}</td>
                  <td data-label="Password">{l.password_protected ? 'Yes' : 'No'}</td>
                  <td data-label="Downloads" class="num">
                    {l.downloads}
                  </td>
                  <td data-label="State">
                    <span class={`state-tag ${l.state}`}>{kStateText[l.state]}</span>
                  </td>
                  <td class="actions">
                    {l.state === 'active' && (
                      <>
                        <button type="button" class="button small" onClick={() => copy(l)} aria-label={`Copy the link to ${l.key}`}>
                          Copy link
                        </button>
                        <ConfirmButton
                          label="Revoke"
                          accessibleLabel={`Revoke the link to ${l.key}`}
                          question="Revoke for everyone?"
                          confirmLabel="Yes, revoke"
                          danger
                          onConfirm={() => revoke(l)}
                        />
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
