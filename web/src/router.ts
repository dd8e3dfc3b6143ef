// A tiny history-API router: the gateway serves index.html for every page
// URL (docs/web.md), and the page decides what to show.
import { useEffect, useState } from 'preact/hooks';

type Listener = () => void;
const listeners = new Set<Listener>();

export function navigate(to: string, replace = false) {
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  for (const l of listeners) l();
}

window.addEventListener('popstate', () => {
  for (const l of listeners) l();
});

export interface Location {
  path: string;
  query: URLSearchParams;
}

export function useLocation(): Location {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = () => setTick((t) => t + 1);
    listeners.add(l);
    return () => listeners.delete(l);
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

// Plain left clicks on same-origin links stay in the page; anything else
// (new tab, download) is left to the browser.
export function onLinkClick(e: MouseEvent) {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element).closest('a');
  if (!a || a.target || a.hasAttribute('download') || a.origin !== location.origin) return;
  if (!isAppPath(a.pathname)) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
}

export function isAppPath(path: string): boolean {
  return /^\/(|signin|signup|files|links|settings|dashboard)$/.test(path) || /^\/s\/[^/]+$/.test(path);
}
