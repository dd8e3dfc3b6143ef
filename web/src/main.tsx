import { render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import './style.css';
import { api, loadSession, Session, setSignedOutHandler } from './api';
import { navigate, onLinkClick, useLocation } from './router';
import { Uploader } from './upload';
import { AuthPage } from './pages/Auth';
import { FilesPage } from './pages/Files';
import { LinksPage } from './pages/Links';
import { SettingsPage } from './pages/Settings';
import { DashboardPage } from './pages/Dashboard';
import { SharePage } from './pages/Share';
import { Notice } from './components/Notice';

const kTitles: Record<string, string> = {
  '/signin': 'Sign in',
  '/signup': 'Create an account',
  '/files': 'My files',
  '/links': 'Share links',
  '/settings': 'Settings',
  '/dashboard': 'Dashboard',
};

function App() {
  const loc = useLocation();
  const isShare = /^\/s\/[^/]+$/.test(loc.path);
  // undefined while we ask the server; null when nobody is signed in
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [loadError, setLoadError] = useState('');

  useEffect(() => {
    if (isShare) return;
    setSignedOutHandler(() => setSession(null));
    loadSession()
      .then(setSession)
      .catch((e) => setLoadError(e instanceof Error ? e.message : String(e)));
  }, [isShare]);

  const uploader = useMemo(() => (session ? new Uploader(session.user) : null), [session?.user]);

  useEffect(() => {
    document.title = `${kTitles[loc.path] ?? 'Holdfast'} · Holdfast`;
  }, [loc.path]);

  // Which page may be shown follows from the session.
  useEffect(() => {
    if (isShare || session === undefined) return;
    const authPage = loc.path === '/signin' || loc.path === '/signup';
    if (!session && !authPage) {
      const next = loc.path === '/' ? '' : `?next=${encodeURIComponent(loc.path + location.search)}`;
      navigate(`/signin${next}`, true);
    } else if (session && (authPage || loc.path === '/')) {
      navigate(safeNext(loc.query.get('next')), true);
    } else if (session && loc.path === '/dashboard' && session.role !== 'operator') {
      navigate('/files', true);
    }
  }, [session, loc.path, isShare]);

  if (isShare) return <SharePage id={decodeURIComponent(loc.path.slice(3))} />;
  if (loadError) {
    return (
      <main class="narrow">
        <Notice kind="error">Holdfast could not be reached: {loadError} Reload the page to try again.</Notice>
      </main>
    );
  }
  if (session === undefined) return <p class="loading" aria-busy="true">Loading…</p>;
  if (!session) {
    return <AuthPage mode={loc.path === '/signup' ? 'signup' : 'signin'} onSignedIn={setSession} />;
  }

  const signOut = async () => {
    try {
      await api('POST', '/api/signout');
    } finally {
      uploader?.cancelAll();
      setSession(null);
      navigate('/signin', true);
    }
  };

  let page;
  switch (loc.path) {
    case '/links':
      page = <LinksPage />;
      break;
    case '/settings':
      page = <SettingsPage session={session} />;
      break;
    case '/dashboard':
      page = session.role === 'operator' ? <DashboardPage /> : null;
      break;
    default:
      page = <FilesPage session={session} uploader={uploader!} />;
  }
  return (
    <Shell session={session} path={loc.path} onSignOut={signOut}>
      {page}
    </Shell>
  );
}

function safeNext(next: string | null): string {
  // Only our own pages: never an open redirect.
  if (next && /^\/(files|links|settings|dashboard)(\?|$)/.test(next)) return next;
  return '/files';
}

function Shell(props: { session: Session; path: string; onSignOut: () => void; children: any }) {
  const { session, path } = props;
  const items: [string, string][] = [
    ['/files', 'Files'],
    ['/links', 'Links'],
    ['/settings', 'Settings'],
  ];
  if (session.role === 'operator') items.push(['/dashboard', 'Dashboard']);
  // After moving to another page, keyboard and screen-reader users land on
  // its heading (not on the first load: the browser starts at the top).
  const firstPath = useRef(path);
  useEffect(() => {
    if (path === firstPath.current) return;
    firstPath.current = '';
    document.querySelector<HTMLElement>('main h1')?.focus({ preventScroll: true });
  }, [path]);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <div class="topbar-inner">
          <a class="brand" href="/files">
            <span class="brand-mark" aria-hidden="true" />
            Holdfast
          </a>
          <nav aria-label="Main">
            <ul>
              {items.map(([href, label]) => (
                <li key={href}>
                  <a href={href} aria-current={path === href ? 'page' : undefined}>
                    {label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <div class="account">
            <span class="who" title={session.role === 'operator' ? 'operator' : 'user'}>
              {session.user}
              {session.role === 'operator' && <span class="badge">operator</span>}
            </span>
            <button type="button" class="button subtle" onClick={props.onSignOut}>
              Sign out
            </button>
          </div>
        </div>
      </header>
      <main id="main">{props.children}</main>
    </>
  );
}

document.addEventListener('click', onLinkClick);
render(<App />, document.getElementById('app')!);
