// Uploads: one PUT for a small file; for a large one, an S3 multipart upload
// in 8 MiB parts, a few in parallel, each part retried three times, and the
// upload remembered in localStorage so that a reload can resume it (ListParts
// says which parts arrived; only the others are sent again). XMLHttpRequest,
// not fetch, because only it reports upload progress.
import { csrfHeaders } from './api';
import * as s3 from './s3';

export const kPartSizeBytes = 8 * 1024 * 1024;
const kPartAttempts = 4; // the first try and three retries
const kParallelParts = 3;
const kParallelFiles = 2;

export type UploadState = 'waiting' | 'uploading' | 'finishing' | 'done' | 'failed' | 'cancelled';

export interface UploadItem {
  id: number;
  name: string;
  bucket: string;
  key: string;
  sizeBytes: number;
  sentBytes: number;
  state: UploadState;
  detail: string; // what is happening, for people ("Retrying part 3", "Resumed: 2 of 7 parts were there")
  error: string;
  partsTotal: number; // 0: one PUT
  partsDone: number;
  resumedParts: number;
}

// What localStorage keeps of a multipart upload in progress.
export interface PendingUpload {
  bucket: string;
  key: string;
  uploadId: string;
  name: string;
  size: number;
  lastModified: number;
  partSize: number;
  startedMs: number;
}

class Cancelled extends Error {}

interface Job {
  item: UploadItem;
  file: File;
  xhrs: Set<XMLHttpRequest>;
  inflight: Map<number, number>; // part number -> bytes sent so far
  doneBytes: number;
  uploadId: string;
  cancelled: boolean;
  wakeups: Set<() => void>; // pending retry delays, woken by cancel
}

interface XhrResult {
  status: number;
  etag: string;
  body: string;
}

type Listener = (items: UploadItem[]) => void;

export class Uploader {
  private jobs: Job[] = [];
  private listeners = new Set<Listener>();
  private nextId = 1;
  private running = 0;
  private notifyScheduled = false;
  private readonly storageKey: string;

  constructor(user: string) {
    this.storageKey = `holdfast:uploads:${user}`;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    listener(this.items());
    return () => this.listeners.delete(listener);
  }

  items(): UploadItem[] {
    return this.jobs.map((j) => ({ ...j.item }));
  }

  // --- remembered uploads -------------------------------------------------

  pending(): PendingUpload[] {
    try {
      const raw = localStorage.getItem(this.storageKey);
      const list = raw ? JSON.parse(raw) : [];
      if (!Array.isArray(list)) return [];
      // Not the ones this page is sending right now.
      const active = new Set(this.jobs.filter((j) => !isFinished(j.item.state)).map((j) => j.uploadId));
      return list.filter((p: PendingUpload) => p && p.uploadId && !active.has(p.uploadId));
    } catch {
      return [];
    }
  }

  private savePending(list: PendingUpload[]) {
    try {
      if (list.length) localStorage.setItem(this.storageKey, JSON.stringify(list));
      else localStorage.removeItem(this.storageKey);
    } catch {
      // storage full or disabled: uploads still work, they just cannot resume
    }
    this.notify();
  }

  private allPending(): PendingUpload[] {
    try {
      const list = JSON.parse(localStorage.getItem(this.storageKey) || '[]');
      return Array.isArray(list) ? list : [];
    } catch {
      return [];
    }
  }

  private remember(p: PendingUpload) {
    this.savePending([...this.allPending().filter((q) => q.uploadId !== p.uploadId), p]);
  }

  private forget(uploadId: string) {
    this.savePending(this.allPending().filter((q) => q.uploadId !== uploadId));
  }

  // Gives up a remembered upload: the parts already sent are deleted.
  async discard(p: PendingUpload): Promise<void> {
    try {
      await s3.abortMultipartUpload(p.bucket, p.key, p.uploadId);
    } catch (e) {
      // NoSuchUpload: it is gone already (completed, aborted or expired).
      if (!(e instanceof s3.S3Error) || e.code !== 'NoSuchUpload') throw e;
    }
    this.forget(p.uploadId);
  }

  matchPending(file: File): PendingUpload | undefined {
    return this.pending().find(
      (p) => p.name === file.name && p.size === file.size && p.lastModified === file.lastModified,
    );
  }

  // --- adding, cancelling -------------------------------------------------

  // Uploads files into bucket under prefix. A file that matches a remembered
  // upload (same name, size and modification time) resumes it instead.
  add(files: File[], bucket: string, prefix: string) {
    for (const file of files) {
      const resume = this.matchPending(file);
      const item: UploadItem = {
        id: this.nextId++,
        name: file.name,
        bucket: resume ? resume.bucket : bucket,
        key: resume ? resume.key : prefix + file.name,
        sizeBytes: file.size,
        sentBytes: 0,
        state: 'waiting',
        detail: resume ? 'Waiting to resume' : 'Waiting',
        error: '',
        partsTotal: file.size > kPartSizeBytes ? Math.ceil(file.size / kPartSizeBytes) : 0,
        partsDone: 0,
        resumedParts: 0,
      };
      this.jobs.push({
        item,
        file,
        xhrs: new Set(),
        inflight: new Map(),
        doneBytes: 0,
        uploadId: resume ? resume.uploadId : '',
        cancelled: false,
        wakeups: new Set(),
      });
    }
    this.notify();
    this.pump();
  }

  cancel(id: number) {
    const job = this.jobs.find((j) => j.item.id === id);
    if (!job || isFinished(job.item.state)) return;
    job.cancelled = true;
    for (const xhr of job.xhrs) xhr.abort();
    for (const wake of job.wakeups) wake();
    const wasRunning = job.item.state !== 'waiting';
    job.item.state = 'cancelled';
    job.item.detail = 'Cancelled';
    this.notify();
    // A waiting job never started; a running one cleans up in run().
    if (!wasRunning && job.uploadId) void this.abortQuietly(job);
  }

  cancelAll() {
    for (const job of this.jobs) this.cancel(job.item.id);
  }

  clearFinished() {
    this.jobs = this.jobs.filter((j) => !isFinished(j.item.state));
    this.notify();
  }

  // --- running ------------------------------------------------------------

  private pump() {
    while (this.running < kParallelFiles) {
      const job = this.jobs.find((j) => j.item.state === 'waiting');
      if (!job) return;
      this.running++;
      job.item.state = 'uploading';
      job.item.detail = 'Starting';
      this.notify();
      void this.run(job).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async run(job: Job) {
    try {
      if (job.item.partsTotal === 0) await this.putWhole(job);
      else await this.putInParts(job);
      job.item.state = 'done';
      job.item.sentBytes = job.item.sizeBytes;
      job.item.detail = job.item.resumedParts
        ? `Uploaded (resumed: ${job.item.resumedParts} of ${job.item.partsTotal} parts were already there)`
        : 'Uploaded';
    } catch (e) {
      if (job.cancelled || e instanceof Cancelled) {
        job.item.state = 'cancelled';
        job.item.detail = 'Cancelled';
        if (job.uploadId) await this.abortQuietly(job);
      } else {
        job.item.state = 'failed';
        job.item.error = e instanceof Error ? e.message : String(e);
        job.item.detail = 'Failed';
        // The remembered upload stays: choosing the file again resumes it.
      }
    }
    this.notify();
  }

  private async abortQuietly(job: Job) {
    const uploadId = job.uploadId;
    try {
      await s3.abortMultipartUpload(job.item.bucket, job.item.key, uploadId);
    } catch {
      // It may have been aborted or completed already; nothing else to do.
    }
    this.forget(uploadId);
  }

  private async putWhole(job: Job) {
    const url = s3.objectUrl(job.item.bucket, job.item.key);
    const headers = { 'Content-Type': job.file.type || 'application/octet-stream' };
    job.item.detail = 'Uploading';
    await this.withRetries(job, 'the file', () =>
      this.send(job, 'PUT', url, job.file, headers, 1),
    );
  }

  private async putInParts(job: Job) {
    const { item, file } = job;
    const done = new Map<number, string>(); // part number -> ETag
    if (job.uploadId) {
      try {
        item.detail = 'Asking which parts arrived';
        this.notify();
        for (const part of await s3.listParts(item.bucket, item.key, job.uploadId)) {
          if (part.partNumber >= 1 && part.partNumber <= item.partsTotal && part.size === partSize(file.size, part.partNumber)) {
            done.set(part.partNumber, part.etag);
          }
        }
      } catch (e) {
        if (!(e instanceof s3.S3Error) || e.code !== 'NoSuchUpload') throw e;
        // Expired or aborted meanwhile: start again.
        this.forget(job.uploadId);
        job.uploadId = '';
      }
    }
    this.checkCancelled(job);
    if (!job.uploadId) {
      job.uploadId = await s3.createMultipartUpload(item.bucket, item.key, file.type);
      this.remember({
        bucket: item.bucket,
        key: item.key,
        uploadId: job.uploadId,
        name: file.name,
        size: file.size,
        lastModified: file.lastModified,
        partSize: kPartSizeBytes,
        startedMs: Date.now(),
      });
    }
    this.checkCancelled(job);
    item.resumedParts = done.size;
    item.partsDone = done.size;
    for (const n of done.keys()) job.doneBytes += partSize(file.size, n);
    this.updateSent(job);
    item.detail = done.size ? `Resuming: ${done.size} of ${item.partsTotal} parts were already uploaded` : 'Uploading';
    this.notify();

    const todo: number[] = [];
    for (let n = 1; n <= item.partsTotal; n++) if (!done.has(n)) todo.push(n);
    const worker = async () => {
      for (let n = todo.shift(); n !== undefined; n = todo.shift()) {
        const start = (n - 1) * kPartSizeBytes;
        const blob = file.slice(start, start + partSize(file.size, n));
        const query = new URLSearchParams({ partNumber: String(n), uploadId: job.uploadId });
        const url = s3.objectUrl(item.bucket, item.key, query.toString());
        const result = await this.withRetries(job, `part ${n}`, () => this.send(job, 'PUT', url, blob, {}, n));
        if (!result.etag) throw new Error(`The server did not return an ETag for part ${n}.`);
        done.set(n, result.etag);
        job.doneBytes += blob.size;
        item.partsDone = done.size;
        this.updateSent(job);
      }
    };
    // One failed part fails the file; the others stop at their next part.
    const workers = Array.from({ length: Math.min(kParallelParts, todo.length) }, worker);
    try {
      await Promise.all(workers);
    } catch (e) {
      for (const xhr of job.xhrs) xhr.abort();
      todo.length = 0;
      throw e;
    }
    this.checkCancelled(job);
    item.state = 'finishing';
    item.detail = 'Putting the parts together';
    this.notify();
    const parts = [...done.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([partNumber, etag]) => ({ partNumber, etag, size: 0 }));
    await s3.completeMultipartUpload(item.bucket, item.key, job.uploadId, parts);
    this.forget(job.uploadId);
  }

  private checkCancelled(job: Job) {
    if (job.cancelled) throw new Cancelled();
  }

  // Runs attempt() up to kPartAttempts times. Network errors and 5xx/408/429
  // answers are retried after a growing pause; other answers fail at once.
  private async withRetries(job: Job, what: string, attempt: () => Promise<XhrResult>): Promise<XhrResult> {
    for (let i = 1; ; i++) {
      this.checkCancelled(job);
      let failure: string;
      try {
        const r = await attempt();
        if (r.status >= 200 && r.status < 300) return r;
        const err = s3.errorFromXml(r.status, r.body, `The server answered ${r.status} for ${what}.`);
        if (!(r.status >= 500 || r.status === 408 || r.status === 429)) throw err;
        failure = err.message;
      } catch (e) {
        if (job.cancelled || e instanceof Cancelled) throw new Cancelled();
        if (e instanceof s3.S3Error) throw e;
        failure = e instanceof Error ? e.message : String(e);
      }
      if (i >= kPartAttempts) throw new Error(`Uploading ${what} failed ${kPartAttempts} times: ${failure}`);
      job.item.detail = `Retrying ${what} (attempt ${i + 1} of ${kPartAttempts}) after: ${failure}`;
      this.notify();
      await this.pause(job, 500 * 2 ** (i - 1));
    }
  }

  private pause(job: Job, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        job.wakeups.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      job.wakeups.add(wake);
    });
  }

  private send(
    job: Job,
    method: string,
    url: string,
    body: Blob,
    headers: Record<string, string>,
    partNumber: number,
  ): Promise<XhrResult> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      job.xhrs.add(xhr);
      const finish = () => {
        job.xhrs.delete(xhr);
        job.inflight.delete(partNumber);
        this.updateSent(job);
      };
      xhr.open(method, url);
      for (const [k, v] of Object.entries({ ...headers, ...csrfHeaders() })) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (e) => {
        job.inflight.set(partNumber, e.loaded);
        this.updateSent(job);
      };
      xhr.onload = () => {
        finish();
        resolve({ status: xhr.status, etag: xhr.getResponseHeader('ETag') ?? '', body: xhr.responseText });
      };
      xhr.onerror = () => {
        finish();
        reject(new Error('the connection failed'));
      };
      xhr.onabort = () => {
        finish();
        reject(new Cancelled());
      };
      xhr.send(body);
    });
  }

  private updateSent(job: Job) {
    let inflight = 0;
    for (const v of job.inflight.values()) inflight += v;
    job.item.sentBytes = Math.min(job.item.sizeBytes, job.doneBytes + inflight);
    this.notify();
  }

  // Progress events come fast; the page redraws at most once a frame.
  private notify() {
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    const run = () => {
      this.notifyScheduled = false;
      const items = this.items();
      for (const l of this.listeners) l(items);
    };
    if (typeof requestAnimationFrame === 'function' && document.visibilityState === 'visible') {
      requestAnimationFrame(run);
    } else {
      setTimeout(run, 50);
    }
  }
}

function partSize(fileSize: number, partNumber: number): number {
  return Math.min(kPartSizeBytes, fileSize - (partNumber - 1) * kPartSizeBytes);
}

export function isFinished(state: UploadState): boolean {
  return state === 'done' || state === 'failed' || state === 'cancelled';
}
