// Small pieces every view uses.
import type { ComponentChildren } from 'preact';
import { stateClass } from '../format.js';

export function Panel(props: { title: string; actions?: ComponentChildren; children: ComponentChildren; test?: string }) {
  return (
    <section class="panel" data-test={props.test}>
      <div class="panel-head">
        <h2>{props.title}</h2>
        {props.actions && <div class="actions">{props.actions}</div>}
      </div>
      {props.children}
    </section>
  );
}

export function State(props: { state: string }) {
  return <span class={stateClass(props.state)} data-test="state">{props.state}</span>;
}

export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty">{props.children}</p>;
}

export function ErrorLine(props: { error: string | undefined }) {
  return props.error ? <p class="error" role="alert">{props.error}</p> : null;
}

/** The message of anything thrown. */
export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
