import { percent } from '../format';

// A native <progress> (screen readers announce it) with the number beside it.
export function Progress(props: { value: number; max: number; label: string; state?: string }) {
  // An empty file is complete when it is done, not at 0 of 0.
  const complete = props.state === 'done';
  const pct = complete ? 100 : percent(props.value, props.max);
  return (
    <div class={`progress ${props.state ?? ''}`}>
      <progress value={complete ? 1 : props.max ? props.value : 0} max={complete ? 1 : props.max || 1} aria-label={props.label} />
      <span class="progress-pct">{Math.floor(pct)}%</span>
    </div>
  );
}

// A horizontal fill bar for capacities (not a task in progress): a <meter>.
export function Fill(props: { value: number; max: number; label: string }) {
  const pct = percent(props.value, props.max);
  return (
    <meter
      class="fill"
      value={props.value}
      min={0}
      max={props.max || 1}
      high={(props.max || 1) * 0.8}
      optimum={0}
      aria-label={props.label}
      title={`${pct.toFixed(1)}%`}
    />
  );
}
