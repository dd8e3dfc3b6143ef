import { ComponentChildren } from 'preact';

// A message in the page: errors are announced at once (role=alert), other
// news politely (role=status).
export function Notice(props: {
  kind: 'error' | 'info' | 'success' | 'warning';
  children: ComponentChildren;
  onDismiss?: () => void;
}) {
  return (
    <div class={`notice ${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'}>
      <div class="notice-body">{props.children}</div>
      {props.onDismiss && (
        <button type="button" class="button subtle small" onClick={props.onDismiss} aria-label="Dismiss message">
          Dismiss
        </button>
      )}
    </div>
  );
}
