// The S3 API through the session (`/api/s3/{bucket}/{key}`, docs/web.md):
// the same operations and XML documents as the S3 port, so uploads take the
// same streaming, erasure-coded path as any S3 client's.
import { csrfHeaders, signedOut } from './api';

export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface S3Object {
  key: string;
  size: number;
  lastModifiedMs: number;
  etag: string;
}

export interface Listing {
  folders: string[]; // common prefixes, ending in '/'
  files: S3Object[];
  truncated: boolean; // more than we are willing to show
}

export interface Part {
  partNumber: number;
  etag: string;
  size: number;
}

// Keys keep their '/' so that the URL reads like the path; everything else
// is percent-encoded.
export function objectUrl(bucket: string, key = '', query = ''): string {
  const path = key
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
  return `/api/s3/${encodeURIComponent(bucket)}/${path}${query ? `?${query}` : ''}`;
}

function parseXml(text: string): Document {
  return new DOMParser().parseFromString(text, 'application/xml');
}

function all(parent: Document | Element, name: string): Element[] {
  return Array.from(parent.getElementsByTagNameNS('*', name));
}

function text(parent: Document | Element, name: string): string {
  return parent.getElementsByTagNameNS('*', name)[0]?.textContent ?? '';
}

// Children only (ListParts nests <Owner> etc. that must not be mistaken).
function childText(parent: Element, name: string): string {
  for (const child of Array.from(parent.children)) {
    if (child.localName === name) return child.textContent ?? '';
  }
  return '';
}

// An S3 error document: <Error><Code/><Message/></Error>.
export function errorFromXml(status: number, body: string, fallback: string): S3Error {
  let code = `HTTP${status}`;
  let message = fallback;
  if (body) {
    const doc = parseXml(body);
    const c = text(doc, 'Code');
    const m = text(doc, 'Message');
    if (c) code = c;
    if (m) message = m;
  }
  if (status === 401 || code === 'NotSignedIn') signedOut();
  return new S3Error(status, code, message);
}

async function s3(
  method: string,
  url: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const all_headers = { ...headers };
  if (method !== 'GET' && method !== 'HEAD') Object.assign(all_headers, csrfHeaders());
  let response: Response;
  try {
    response = await fetch(url, { method, headers: all_headers, body, credentials: 'same-origin' });
  } catch {
    throw new S3Error(0, 'NetworkError', 'The server could not be reached.');
  }
  if (!response.ok) {
    const raw = method === 'HEAD' ? '' : await response.text();
    // The session layer answers JSON ({"code","error"}) before S3 is reached.
    if (raw.startsWith('{')) {
      try {
        const json = JSON.parse(raw);
        if (json.code === 'NotSignedIn') signedOut();
        throw new S3Error(response.status, json.code ?? 'Error', json.error ?? raw);
      } catch (e) {
        if (e instanceof S3Error) throw e;
      }
    }
    throw errorFromXml(response.status, raw, `${method} failed: ${response.status} ${response.statusText}`);
  }
  return response;
}

const kMaxListed = 20000;

export async function listObjects(bucket: string, prefix: string): Promise<Listing> {
  const folders: string[] = [];
  const files: S3Object[] = [];
  let token = '';
  for (;;) {
    const query = new URLSearchParams({ 'list-type': '2', delimiter: '/', prefix });
    if (token) query.set('continuation-token', token);
    const doc = parseXml(await (await s3('GET', objectUrl(bucket, '', query.toString()))).text());
    for (const p of all(doc, 'CommonPrefixes')) folders.push(text(p, 'Prefix'));
    for (const c of all(doc, 'Contents')) {
      files.push({
        key: text(c, 'Key'),
        size: Number(text(c, 'Size')),
        lastModifiedMs: Date.parse(text(c, 'LastModified')),
        etag: text(c, 'ETag').replace(/"/g, ''),
      });
    }
    token = text(doc, 'NextContinuationToken');
    const more = text(doc, 'IsTruncated') === 'true' && token !== '';
    if (!more) return { folders, files, truncated: false };
    if (folders.length + files.length >= kMaxListed) return { folders, files, truncated: true };
  }
}

export async function deleteObject(bucket: string, key: string): Promise<void> {
  await s3('DELETE', objectUrl(bucket, key));
}

// An empty object named "folder/" keeps a folder that has no files yet, as
// other S3 consoles do.
export async function createFolder(bucket: string, prefix: string): Promise<void> {
  await s3('PUT', objectUrl(bucket, prefix), '', { 'Content-Type': 'application/x-directory' });
}

export async function createMultipartUpload(bucket: string, key: string, contentType: string): Promise<string> {
  const response = await s3('POST', objectUrl(bucket, key, 'uploads'), undefined, {
    'Content-Type': contentType || 'application/octet-stream',
  });
  const uploadId = text(parseXml(await response.text()), 'UploadId');
  if (!uploadId) throw new S3Error(500, 'BadResponse', 'The server did not return an upload id.');
  return uploadId;
}

export async function listParts(bucket: string, key: string, uploadId: string): Promise<Part[]> {
  const parts: Part[] = [];
  let marker = '';
  for (;;) {
    const query = new URLSearchParams({ uploadId });
    if (marker) query.set('part-number-marker', marker);
    const doc = parseXml(await (await s3('GET', objectUrl(bucket, key, query.toString()))).text());
    for (const p of all(doc, 'Part')) {
      parts.push({
        partNumber: Number(childText(p, 'PartNumber')),
        etag: childText(p, 'ETag'),
        size: Number(childText(p, 'Size')),
      });
    }
    marker = text(doc, 'NextPartNumberMarker');
    if (text(doc, 'IsTruncated') !== 'true' || !marker) return parts;
  }
}

export async function completeMultipartUpload(
  bucket: string,
  key: string,
  uploadId: string,
  parts: Part[],
): Promise<void> {
  const body =
    '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    parts
      .map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`)
      .join('') +
    '</CompleteMultipartUpload>';
  const response = await s3('POST', objectUrl(bucket, key, new URLSearchParams({ uploadId }).toString()), body, {
    'Content-Type': 'application/xml',
  });
  // CompleteMultipartUpload can fail after a 200 status line: the error is
  // then the body.
  const raw = await response.text();
  if (raw.includes('<Error>')) throw errorFromXml(500, raw, 'Completing the upload failed.');
}

export async function abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
  await s3('DELETE', objectUrl(bucket, key, new URLSearchParams({ uploadId }).toString()));
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
