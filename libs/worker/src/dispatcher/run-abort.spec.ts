import { RunAbort } from './run-abort.js';

describe(RunAbort.name, () => {
  it('hands out one signal, which aborts with the reason when the run is aborted', () => {
    // A handler that watches its signal from the start (a long task that stops when cancelled).
    const run = new RunAbort();
    const signal = run.signal;
    const heard: unknown[] = [];
    signal.addEventListener('abort', () => heard.push(signal.reason));
    const reason = new Error('cancelled');
    run.abort(reason);
    expect([run.signal === signal, signal.aborted, run.aborted, heard]).toEqual([true, true, true, [reason]]);
  });

  it('gives a signal already aborted, with the first reason, when it is first asked for after the abort', () => {
    // A handler that looks at its signal only after the run timed out (or a child call made after it).
    const run = new RunAbort();
    const first = new Error('timeout');
    run.abort(first);
    run.abort(new Error('released'));
    expect([run.aborted, run.signal.aborted, run.signal.reason]).toEqual([true, true, first]);
  });

  it('is not aborted until abort() is called', () => {
    const run = new RunAbort();
    expect([run.aborted, run.signal.aborted]).toEqual([false, false]);
  });
});
