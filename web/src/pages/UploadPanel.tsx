import { useEffect, useState } from 'preact/hooks';
import { ConfirmButton } from '../components/Confirm';
import { Notice } from '../components/Notice';
import { Progress } from '../components/Progress';
import { formatBytes, formatDate, plural } from '../format';
import { isFinished, PendingUpload, UploadItem, Uploader } from '../upload';

const kStateText: Record<UploadItem['state'], string> = {
  waiting: 'Waiting',
  uploading: 'Uploading',
  finishing: 'Finishing',
  done: 'Uploaded',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

// The drop zone, the uploads in progress and the uploads a reload
// interrupted.
export function UploadPanel(props: { uploader: Uploader; bucket: string; prefix: string }) {
  const { uploader } = props;
  const [items, setItems] = useState<UploadItem[]>([]);
  const [pending, setPending] = useState<PendingUpload[]>([]);
  const [dragging, setDragging] = useState(false);
  const [error, setError] = useState('');

  useEffect(
    () =>
      uploader.subscribe((list) => {
        setItems(list);
        setPending(uploader.pending());
      }),
    [uploader],
  );

  const add = (files: FileList | File[] | null) => {
    if (!files || files.length === 0) return;
    setError('');
    uploader.add(Array.from(files), props.bucket, props.prefix);
  };

  const resumeWith = (p: PendingUpload, files: FileList | null) => {
    const file = files?.[0];
    if (!file) return;
    if (file.name !== p.name || file.size !== p.size || file.lastModified !== p.lastModified) {
      setError(
        `“${file.name}” is not the file that was being uploaded (“${p.name}”, ${formatBytes(p.size)}, last changed ${formatDate(p.lastModified)}). Choose that file to resume.`,
      );
      return;
    }
    add([file]);
  };

  const active = items.filter((i) => i.state !== 'cancelled');
  const totalBytes = active.reduce((s, i) => s + i.sizeBytes, 0);
  const sentBytes = active.reduce((s, i) => s + i.sentBytes, 0);
  const running = items.filter((i) => !isFinished(i.state)).length;
  const done = items.filter((i) => i.state === 'done').length;
  const failed = items.filter((i) => i.state === 'failed').length;

  return (
    <section class="card upload" aria-labelledby="upload-title">
      <h2 id="upload-title" class="visually-hidden">
        Upload
      </h2>
      <div
        class={`dropzone ${dragging ? 'dragging' : ''}`}
        data-testid="dropzone"
        onDragEnter={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragOver={(e) => {
          e.preventDefault();
          if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
        }}
        onDragLeave={(e) => {
          if (!(e.currentTarget as Element).contains(e.relatedTarget as Node)) setDragging(false);
        }}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          add(e.dataTransfer?.files ?? null);
        }}
      >
        <span class="dropzone-icon" aria-hidden="true" />
        <p>
          <strong>Drop files here</strong> to upload them to <span class="mono">{props.prefix ? `${props.bucket}/${props.prefix}` : props.bucket}</span>
        </p>
        <input
          id="file-input"
          class="visually-hidden"
          type="file"
          multiple
          onChange={(e) => {
            const input = e.currentTarget as HTMLInputElement;
            add(input.files);
            input.value = '';
          }}
        />
        <label for="file-input" class="button primary">
          Choose files…
        </label>
      </div>

      {error && (
        <Notice kind="error" onDismiss={() => setError('')}>
          {error}
        </Notice>
      )}

      {pending.length > 0 && (
        <div class="resume" aria-labelledby="resume-title">
          <h3 id="resume-title">Unfinished uploads</h3>
          <p class="muted">These uploads were interrupted. Choose the same file again to send only what is missing.</p>
          <ul>
            {pending.map((p) => (
              <li key={p.uploadId} class="resume-item">
                <div>
                  <span class="filename">{p.name}</span>
                  <span class="muted">
                    {' '}
                    · {formatBytes(p.size)} · started {formatDate(p.startedMs)} · into <span class="mono">{`${p.bucket}/${p.key}`}</span>
                  </span>
                </div>
                <div class="resume-actions">
                  <input
                    id={`resume-${p.uploadId}`}
                    class="visually-hidden"
                    type="file"
                    onChange={(e) => {
                      const input = e.currentTarget as HTMLInputElement;
                      resumeWith(p, input.files);
                      input.value = '';
                    }}
                  />
                  <label for={`resume-${p.uploadId}`} class="button small primary">
                    Resume…
                  </label>
                  <ConfirmButton
                    label="Discard"
                    accessibleLabel={`Discard the upload of ${p.name}`}
                    question="Discard the parts sent so far?"
                    confirmLabel="Discard"
                    danger
                    onConfirm={async () => {
                      try {
                        await uploader.discard(p);
                      } catch (e) {
                        setError(`Could not discard the upload: ${e instanceof Error ? e.message : e}`);
                      }
                      setPending(uploader.pending());
                    }}
                  />
                </div>
              </li>
            ))}
          </ul>
        </div>
      )}

      {items.length > 0 && (
        <div class="uploads">
          <div class="uploads-head">
            <p class="uploads-summary" aria-live="polite" data-testid="upload-summary">
              {running
                ? `Uploading ${plural(running, 'file')}: ${formatBytes(sentBytes)} of ${formatBytes(totalBytes)}`
                : `${plural(done, 'file')} uploaded${failed ? `, ${failed} failed` : ''}`}
            </p>
            {running === 0 && (
              <button type="button" class="button subtle small" onClick={() => uploader.clearFinished()}>
                Clear list
              </button>
            )}
          </div>
          <Progress value={sentBytes} max={totalBytes} label="All uploads" state={running ? 'active' : failed ? 'failed' : 'done'} />
          <ul class="upload-list">
            {items.map((i) => (
              <li key={i.id} class={`upload-item ${i.state}`} data-upload={i.name}>
                <div class="upload-line">
                  <span class="filename">{i.name}</span>
                  <span class="muted upload-size">{formatBytes(i.sizeBytes)}</span>
                  <span class={`state-tag ${i.state}`}>{kStateText[i.state]}</span>
                  {!isFinished(i.state) && (
                    <button type="button" class="button small subtle" onClick={() => uploader.cancel(i.id)} aria-label={`Cancel the upload of ${i.name}`}>
                      Cancel
                    </button>
                  )}
                </div>
                <Progress value={i.sentBytes} max={i.sizeBytes} label={`Upload of ${i.name}`} state={i.state} />
                {(i.detail !== kStateText[i.state] || (i.partsTotal > 0 && !isFinished(i.state))) && (
                  <p class="upload-detail muted">
                    {i.partsTotal > 0 && !isFinished(i.state) && `${i.partsDone} of ${i.partsTotal} parts uploaded`}
                    {i.partsTotal > 0 && !isFinished(i.state) && i.detail !== kStateText[i.state] && ' · '}
                    {i.detail !== kStateText[i.state] && i.detail}
                  </p>
                )}
                {i.error && <p class="upload-error">{i.error}</p>}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
