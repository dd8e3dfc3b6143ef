import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, PublicLink } from '../api';
import { Notice } from '../components/Notice';
import { formatBytes, formatDate, formatDuration } from '../format';

// What a refused link says, by the API's error code.
const kRefusals: Record<string, [string, string]> = {
  NoSuchLink: ['This link does not exist', 'Check that you have the whole link. If you do, the link may have been mistyped.'],
  LinkRevoked: ['This link was turned off', 'Its owner revoked it, so the file can no longer be downloaded with it. Ask them for a new link.'],
  LinkExpired: ['This link has expired', 'It was only valid for a limited time. Ask the person who shared it for a new link.'],
  NoSuchObject: ['The file is no longer here', 'The file this link pointed to was deleted by its owner.'],
};

// The public page of a share link: anyone with the link sees the file's
// name and size and can download it (after the password, if it has one).
export function SharePage(props: { id: string }) {
  const [link, setLink] = useState<PublicLink | null>(null);
  const [refusal, setRefusal] = useState<{ code: string; message: string } | null>(null);
  const [downloadUrl, setDownloadUrl] = useState('');
  const [password, setPassword] = useState('');
  const [pwError, setPwError] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    document.title = 'Shared file · Holdfast';
    api<PublicLink>('GET', `/api/public/links/${encodeURIComponent(props.id)}`)
      .then((l) => {
        setLink(l);
        if (l.download_url) setDownloadUrl(l.download_url);
        document.title = `${l.name} · Holdfast`;
      })
      .catch((e) => setRefusal(e instanceof ApiError ? { code: e.code, message: e.message } : { code: 'Error', message: String(e) }));
  }, [props.id]);

  const unlock = async (e: Event) => {
    e.preventDefault();
    setPwError('');
    setBusy(true);
    try {
      const r = await api<{ download_url: string }>('POST', `/api/public/links/${encodeURIComponent(props.id)}/unlock`, { password });
      setDownloadUrl(r.download_url);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'WrongPassword') {
        setPwError('That password is not right. Check it and try again.');
      } else if (err instanceof ApiError && err.code === 'TooManyAttempts') {
        setPwError(`Too many wrong passwords. Try again${err.retryAfterS ? ` in ${formatDuration(err.retryAfterS)}` : ' later'}.`);
      } else if (err instanceof ApiError && kRefusals[err.code]) {
        setRefusal({ code: err.code, message: err.message });
      } else {
        setPwError(err instanceof Error ? err.message : String(err));
      }
    } finally {
      setBusy(false);
    }
  };

  let body;
  if (refusal) {
    const [title, text] = kRefusals[refusal.code] ?? ['This link cannot be opened', refusal.message];
    body = (
      <div class="refusal" data-refusal={refusal.code}>
        <span class="refusal-icon" aria-hidden="true" />
        <h1 tabIndex={-1}>{title}</h1>
        <p>{text}</p>
      </div>
    );
  } else if (!link) {
    body = <p aria-busy="true">Loading…</p>;
  } else {
    body = (
      <div class="shared">
        <span class="file-badge" aria-hidden="true" />
        <h1 tabIndex={-1} class="shared-name">
          {link.name}
        </h1>
        <dl class="facts compact">
          <dt>Size</dt>
          <dd data-testid="size">{formatBytes(link.size)}</dd>
          <dt>Modified</dt>
          <dd>{formatDate(link.last_modified_unix_ms)}</dd>
          <dt>Link expires</dt>
          <dd>{link.expires_unix_ms ? formatDate(link.expires_unix_ms) : 'Never'}</dd>
        </dl>
        {downloadUrl ? (
          <a class="button primary wide large" href={downloadUrl} download={link.name}>
            Download
            <span class="button-note">{formatBytes(link.size)}</span>
          </a>
        ) : (
          <form class="stack" onSubmit={unlock}>
            <p>This file is protected with a password.</p>
            {pwError && <Notice kind="error">{pwError}</Notice>}
            <div class="field">
              <label for="link-password">Password</label>
              <input
                id="link-password"
                type="password"
                autoComplete="off"
                required
                value={password}
                onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)}
              />
            </div>
            <button type="submit" class="button primary wide" disabled={busy}>
              {busy ? 'Checking…' : 'Unlock'}
            </button>
          </form>
        )}
      </div>
    );
  }

  return (
    <div class="auth share-page">
      <div class="auth-brand">
        <span class="brand-mark large" aria-hidden="true" />
        <span>Holdfast</span>
      </div>
      <main id="main" class="card auth-card">
        {body}
      </main>
      <p class="muted small center">Shared with Holdfast: files kept safe across several hosting providers.</p>
    </div>
  );
}
