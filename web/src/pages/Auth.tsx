import { useState } from 'preact/hooks';
import { api, ApiError, Session, setCsrfToken } from '../api';
import { Notice } from '../components/Notice';
import { formatDuration } from '../format';

// Sign in and sign up: one form, two wordings.
export function AuthPage(props: { mode: 'signin' | 'signup'; onSignedIn: (s: Session) => void }) {
  const signup = props.mode === 'signup';
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError('');
    setBusy(true);
    try {
      const session = await api<Session>('POST', signup ? '/api/signup' : '/api/signin', { name, password });
      setCsrfToken(session.csrf_token);
      props.onSignedIn(session);
    } catch (err) {
      setError(describe(err, signup));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="auth">
      <div class="auth-brand">
        <span class="brand-mark large" aria-hidden="true" />
        <span>Holdfast</span>
      </div>
      <main id="main" class="card auth-card">
        <h1 tabIndex={-1}>{signup ? 'Create an account' : 'Sign in'}</h1>
        <p class="muted">
          {signup
            ? 'Your files are stored across several hosting providers, so that losing one loses nothing.'
            : 'Welcome back. Sign in to reach your files.'}
        </p>
        {error && <Notice kind="error">{error}</Notice>}
        <form onSubmit={submit} class="stack" noValidate={false}>
          <div class="field">
            <label for="name">Name</label>
            <input
              id="name"
              name="username"
              autoComplete="username"
              autoCapitalize="none"
              spellcheck={false}
              required
              minLength={3}
              maxLength={32}
              pattern={signup ? '[a-z0-9][a-z0-9\\-]{1,30}[a-z0-9]' : undefined}
              value={name}
              onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
              aria-describedby={signup ? 'name-help' : undefined}
            />
            {signup && (
              <span id="name-help" class="help">
                3–32 characters: lower-case letters, digits and dashes. It also names your storage bucket.
              </span>
            )}
          </div>
          <div class="field">
            <label for="password">Password</label>
            <input
              id="password"
              name="password"
              type="password"
              autoComplete={signup ? 'new-password' : 'current-password'}
              required
              minLength={8}
              value={password}
              onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)}
              aria-describedby={signup ? 'password-help' : undefined}
            />
            {signup && (
              <span id="password-help" class="help">
                At least 8 characters.
              </span>
            )}
          </div>
          <button type="submit" class="button primary wide" disabled={busy}>
            {busy ? (signup ? 'Creating account…' : 'Signing in…') : signup ? 'Create account' : 'Sign in'}
          </button>
        </form>
        <p class="auth-switch">
          {signup ? (
            <>
              Already have an account? <a href="/signin">Sign in</a>
            </>
          ) : (
            <>
              New here? <a href="/signup">Create an account</a>
            </>
          )}
        </p>
      </main>
    </div>
  );
}

function describe(err: unknown, signup: boolean): string {
  if (!(err instanceof ApiError)) return String(err);
  switch (err.code) {
    case 'InvalidCredentials':
      return 'That name and password do not match. Check both and try again.';
    case 'TooManyAttempts':
      return `Too many failed sign-in attempts. For your safety, signing in is paused${
        err.retryAfterS ? ` for ${formatDuration(err.retryAfterS)}` : ''
      }. Try again later.`;
    case 'NameTaken':
      return 'That name is taken. Choose another one.';
    case 'InvalidName':
    case 'InvalidPassword':
      return err.message;
    default:
      return signup ? `Could not create the account: ${err.message}` : `Could not sign in: ${err.message}`;
  }
}
