import { useEffect, useRef, useState } from 'preact/hooks';

// A button that asks once more in place before it acts, so that a stray
// click (or Enter) never deletes or revokes anything. No modal window.alert:
// it keeps the keyboard focus where the user is.
export function ConfirmButton(props: {
  label: string;
  confirmLabel: string;
  question: string;
  onConfirm: () => void | Promise<void>;
  danger?: boolean;
  disabled?: boolean;
  accessibleLabel?: string;
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const yes = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) yes.current?.focus();
  }, [asking]);
  if (!asking) {
    return (
      <button
        type="button"
        class={`button small ${props.danger ? 'danger-outline' : ''}`}
        disabled={props.disabled}
        aria-label={props.accessibleLabel}
        onClick={() => setAsking(true)}
      >
        {props.label}
      </button>
    );
  }
  return (
    <span class="confirm" role="group" aria-label={props.question}>
      <span class="confirm-q">{props.question}</span>
      <button
        ref={yes}
        type="button"
        class={`button small ${props.danger ? 'danger' : 'primary'}`}
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await props.onConfirm();
          } finally {
            setBusy(false);
            setAsking(false);
          }
        }}
      >
        {props.confirmLabel}
      </button>
      <button type="button" class="button small subtle" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
