import { useState } from 'preact/hooks';

// A read-only value with a Copy button (the clipboard needs a secure
// context; on plain http the text is selected for Ctrl+C instead).
export function CopyField(props: { label: string; value: string; id: string; secret?: boolean }) {
  const [copied, setCopied] = useState('');
  const copy = async (e: Event) => {
    const input = (e.currentTarget as HTMLElement).parentElement!.querySelector('input')!;
    input.select();
    try {
      await navigator.clipboard.writeText(props.value);
      setCopied('Copied');
    } catch {
      setCopied('Selected: press Ctrl+C to copy');
    }
  };
  return (
    <div class="copyfield">
      <label for={props.id}>{props.label}</label>
      <div class="copyfield-row">
        <input id={props.id} type="text" readOnly value={props.value} class={props.secret ? 'mono' : ''} onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
        <button type="button" class="button small" onClick={copy}>
          Copy
        </button>
      </div>
      <span class="copyfield-status" role="status">
        {copied}
      </span>
    </div>
  );
}
