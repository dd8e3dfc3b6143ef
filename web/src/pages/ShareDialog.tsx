import { useEffect, useRef, useState } from 'preact/hooks';
import { api, Link } from '../api';
import { CopyField } from '../components/CopyField';
import { Notice } from '../components/Notice';
import { formatDate } from '../format';

const kExpiries: [string, number][] = [
  ['Never', 0],
  ['In 1 hour', 3600],
  ['In 1 day', 86400],
  ['In 7 days', 7 * 86400],
  ['In 30 days', 30 * 86400],
];

// Makes a public link for one file, in a modal <dialog> (it keeps the focus
// inside and closes with Escape).
export function ShareDialog(props: { bucket: string; objectKey: string; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [expiry, setExpiry] = useState(0);
  const [usePassword, setUsePassword] = useState(false);
  const [password, setPassword] = useState('');
  const [link, setLink] = useState<Link | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const d = dialog.current!;
    d.showModal();
    const close = () => props.onClose();
    d.addEventListener('close', close);
    return () => d.removeEventListener('close', close);
  }, []);

  const create = async (e: Event) => {
    e.preventDefault();
    setError('');
    setBusy(true);
    try {
      const body: Record<string, unknown> = { bucket: props.bucket, key: props.objectKey };
      if (expiry) body.expires_in_seconds = expiry;
      if (usePassword) body.password = password;
      setLink(await api<Link>('POST', '/api/links', body));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const name = props.objectKey.slice(props.objectKey.lastIndexOf('/') + 1);
  return (
    <dialog ref={dialog} class="dialog" aria-labelledby="share-title">
      <h2 id="share-title">Share “{name}”</h2>
      {link ? (
        <div class="stack">
          <p>Anyone with this link can download the file{link.password_protected ? ' after entering the password' : ''}.</p>
          <CopyField id="share-url" label="Link" value={`${location.origin}${link.url}`} />
          <p class="muted">{link.expires_unix_ms ? `Expires ${formatDate(link.expires_unix_ms)}.` : 'Does not expire.'} You can revoke it on the Links page.</p>
          <div class="dialog-actions">
            <a class="button" href={link.url} target="_blank" rel="noopener">
              Open link
            </a>
            <button type="button" class="button primary" onClick={() => dialog.current!.close()}>
              Done
            </button>
          </div>
        </div>
      ) : (
        <form class="stack" onSubmit={create}>
          {error && <Notice kind="error">{error}</Notice>}
          <div class="field">
            <label for="share-expiry">Expires</label>
            <select id="share-expiry" value={String(expiry)} onChange={(e) => setExpiry(Number((e.currentTarget as HTMLSelectElement).value))}>
              {kExpiries.map(([label, s]) => (
                <option key={s} value={String(s)}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          <div class="field check">
            <input id="share-use-password" type="checkbox" checked={usePassword} onChange={(e) => setUsePassword((e.currentTarget as HTMLInputElement).checked)} />
            <label for="share-use-password">Protect with a password</label>
          </div>
          {usePassword && (
            <div class="field">
              <label for="share-password">Password for the link</label>
              <input
                id="share-password"
                type="password"
                autoComplete="new-password"
                required
                minLength={1}
                value={password}
                onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)}
              />
            </div>
          )}
          <div class="dialog-actions">
            <button type="button" class="button subtle" onClick={() => dialog.current!.close()}>
              Cancel
            </button>
            <button type="submit" class="button primary" disabled={busy}>
              {busy ? 'Creating…' : 'Create link'}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}
