// The web API (docs/web.md, "JSON API"): JSON in, JSON out, errors as
// {"code", "error"}. Every request that changes something carries the
// session's CSRF token; the browser adds the Origin header itself.

export interface Session {
  user: string;
  role: 'user' | 'operator';
  csrf_token: string;
  home_bucket: string;
  s3_endpoint: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterS: number | null = null,
  ) {
    super(message);
  }
}

let csrfToken = '';
let onSignedOut: () => void = () => {};

export function setCsrfToken(token: string) {
  csrfToken = token;
}

export function csrfHeaders(): Record<string, string> {
  return csrfToken ? { 'X-CSRF-Token': csrfToken } : {};
}

// Called when a request finds the session gone (expired, or signed out in
// another tab): the app shows the sign-in page.
export function setSignedOutHandler(handler: () => void) {
  onSignedOut = handler;
}

export function signedOut() {
  csrfToken = '';
  onSignedOut();
}

async function errorFrom(response: Response): Promise<ApiError> {
  let code = `HTTP${response.status}`;
  let message = `The server answered ${response.status} ${response.statusText}.`;
  let retryAfter: number | null = null;
  try {
    const body = await response.json();
    if (typeof body.code === 'string') code = body.code;
    if (typeof body.error === 'string') message = body.error;
    if (typeof body.retry_after_s === 'number') retryAfter = body.retry_after_s;
  } catch {
    // not JSON (a proxy's error page): keep the generic message
  }
  if (retryAfter === null) {
    const header = Number(response.headers.get('Retry-After'));
    if (Number.isFinite(header) && header > 0) retryAfter = header;
  }
  return new ApiError(response.status, code, message, retryAfter);
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') Object.assign(headers, csrfHeaders());
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'NetworkError', 'The server could not be reached. Check your connection and try again.');
  }
  if (!response.ok) {
    const error = await errorFrom(response);
    if (error.code === 'NotSignedIn' && path !== '/api/session') signedOut();
    throw error;
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function loadSession(): Promise<Session | null> {
  try {
    const session = await api<Session>('GET', '/api/session');
    setCsrfToken(session.csrf_token);
    return session;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

// --- typed calls -----------------------------------------------------------

export interface AccessKey {
  access_key_id: string;
}

export interface NewAccessKey {
  access_key_id: string;
  secret_access_key: string;
}

export interface Usage {
  buckets: { name: string; objects: number; bytes: number }[];
  objects: number;
  bytes: number;
}

export interface SearchHit {
  key: string;
  size: number;
  etag: string;
  last_modified_unix_ms: number;
}

export interface Link {
  id: string;
  url: string;
  bucket: string;
  key: string;
  created_unix_ms: number;
  expires_unix_ms: number | null;
  password_protected: boolean;
  state: 'active' | 'expired' | 'revoked';
  downloads: number;
}

export interface PublicLink {
  id: string;
  name: string;
  size: number;
  content_type: string;
  last_modified_unix_ms: number;
  expires_unix_ms: number | null;
  password_required: boolean;
  download_url?: string;
}

export function exportUrl(bucket: string, prefix: string): string {
  const query = new URLSearchParams({ bucket });
  if (prefix) query.set('prefix', prefix);
  return `/api/export?${query}`;
}
