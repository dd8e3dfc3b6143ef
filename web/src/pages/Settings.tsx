import { useEffect, useState } from 'preact/hooks';
import { AccessKey, api, NewAccessKey, Session } from '../api';
import { ConfirmButton } from '../components/Confirm';
import { CopyField } from '../components/CopyField';
import { Notice } from '../components/Notice';

export function SettingsPage(props: { session: Session }) {
  const { session } = props;
  const [keys, setKeys] = useState<AccessKey[] | null>(null);
  const [created, setCreated] = useState<NewAccessKey | null>(null);
  const [error, setError] = useState('');
  const [message, setMessage] = useState('');
  const [reload, setReload] = useState(0);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api<{ keys: AccessKey[] }>('GET', '/api/keys')
      .then((r) => setKeys(r.keys))
      .catch((e) => setError(`Could not load your access keys: ${e.message}`));
  }, [reload]);

  const create = async () => {
    setError('');
    setMessage('');
    setBusy(true);
    try {
      setCreated(await api<NewAccessKey>('POST', '/api/keys'));
      setReload((r) => r + 1);
    } catch (e) {
      setError(`Could not create a key: ${e instanceof Error ? e.message : e}`);
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (id: string) => {
    setError('');
    try {
      await api('DELETE', `/api/keys/${encodeURIComponent(id)}`);
      if (created?.access_key_id === id) setCreated(null);
      setMessage(`Key ${id} is revoked: programs using it are refused from now on.`);
      setReload((r) => r + 1);
    } catch (e) {
      setError(`Could not revoke the key: ${e instanceof Error ? e.message : e}`);
    }
  };

  return (
    <div class="page">
      <div class="page-head">
        <div>
          <h1 tabIndex={-1}>Settings</h1>
          <p class="muted">Your account and the keys that S3 programs use to reach your files.</p>
        </div>
      </div>
      {error && <Notice kind="error">{error}</Notice>}
      {message && (
        <Notice kind="success" onDismiss={() => setMessage('')}>
          {message}
        </Notice>
      )}
      <section class="card" aria-labelledby="account-title">
        <h2 id="account-title">Account</h2>
        <dl class="facts">
          <dt>Name</dt>
          <dd>{session.user}</dd>
          <dt>Role</dt>
          <dd>{session.role === 'operator' ? 'Operator (can see the dashboard)' : 'User'}</dd>
          <dt>Home bucket</dt>
          <dd class="mono">{session.home_bucket}</dd>
          <dt>S3 endpoint</dt>
          <dd class="mono">{session.s3_endpoint}</dd>
        </dl>
      </section>

      <section class="card" aria-labelledby="keys-title">
        <div class="section-head">
          <h2 id="keys-title">S3 access keys</h2>
          <button type="button" class="button primary" onClick={create} disabled={busy}>
            Create access key
          </button>
        </div>
        <p class="muted">
          Programs such as the AWS command line, rclone or s3cmd sign in with a key pair. Revoke a key when a device is lost or a program no longer needs it.
        </p>
        {created && (
          <div class="secret-box" role="region" aria-labelledby="new-key-title">
            <h3 id="new-key-title">New key created</h3>
            <p>
              <strong>Copy the secret now.</strong> It is shown only this once; if you lose it, create another key.
            </p>
            <CopyField id="new-key-id" label="Access key id" value={created.access_key_id} secret />
            <CopyField id="new-key-secret" label="Secret access key" value={created.secret_access_key} secret />
            <p class="muted small">
              For example: <span class="mono">aws --endpoint-url {session.s3_endpoint} s3 ls s3://{session.home_bucket}</span>
            </p>
            <button type="button" class="button subtle small" onClick={() => setCreated(null)}>
              I have saved it
            </button>
          </div>
        )}
        {keys === null ? (
          <p class="empty">Loading…</p>
        ) : keys.length === 0 ? (
          <p class="empty">You have no access keys.</p>
        ) : (
          <ul class="keys" aria-label="Your access keys">
            {keys.map((k) => (
              <li key={k.access_key_id} data-key-id={k.access_key_id}>
                <span class="mono">{k.access_key_id}</span>
                <ConfirmButton
                  label="Revoke"
                  accessibleLabel={`Revoke key ${k.access_key_id}`}
                  question="Revoke this key?"
                  confirmLabel="Yes, revoke"
                  danger
                  onConfirm={() => revoke(k.access_key_id)}
                />
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
