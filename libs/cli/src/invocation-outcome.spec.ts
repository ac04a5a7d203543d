import type { MeshClientApi } from '@taskmesh/client';
import { MeshTimeoutError, ResponseMessage, TaskFailedError } from '@taskmesh/protocol';
import { InterruptedError } from './exit-codes.js';
import { awaitOutcome } from './invocation-outcome.js';
import type { ProgressSink, ProgressSource } from './progress.js';

/** A bar that remembers what it saw. */
class SeenBar implements ProgressSink {
  readonly seen: string[] = [];
  stopped = false;
  see(r: ProgressSource): void {
    this.seen.push(r.state);
  }
  stop(): void {
    this.stopped = true;
  }
}

/** Only what awaitOutcome uses: wait and events. */
const clientWith = (parts: Pick<MeshClientApi, 'wait' | 'events'>): MeshClientApi => parts as unknown as MeshClientApi;

// Events that never come and never end: a client whose event feed is stuck.
async function* stuck(): AsyncIterableIterator<ResponseMessage> {
  yield await new Promise<ResponseMessage>(() => undefined);
}

describe(awaitOutcome.name, () => {
  it('answers with the outcome of wait even when the events never end (the bar is filled and stopped)', async () => {
    const bar = new SeenBar();
    const result = await awaitOutcome(clientWith({ wait: async () => ({ ok: 1 }) as never, events: stuck }), 'i', { view: bar, signal: new AbortController().signal });
    expect(result).toEqual({ ok: 1 });
    expect(bar).toMatchObject({ seen: ['SUCCESS'], stopped: true });
  });

  it('rejects with the failure, after showing it', async () => {
    const bar = new SeenBar();
    const events = async function* () {
      yield ResponseMessage.state('i', 'RUNNING');
    };
    const wait = async (): Promise<never> => {
      throw new TaskFailedError('boom');
    };
    await expect(awaitOutcome(clientWith({ wait, events }), 'i', { view: bar, signal: new AbortController().signal })).rejects.toThrow(TaskFailedError);
    expect(bar.seen.at(-1)).toBe('FAILURE');
    expect(bar.stopped).toBe(true);
  });

  it('waits again while the invocation goes on, until its own timeout', async () => {
    let now = 0;
    const asked: number[] = [];
    const wait = async (_id: string, options?: { timeoutMs?: number }): Promise<never> => {
      asked.push(options!.timeoutMs!);
      now += options!.timeoutMs!;
      throw new MeshTimeoutError('still running', { details: { state: 'RUNNING' } });
    };
    await expect(awaitOutcome(clientWith({ wait, events: stuck }), 'i', { signal: new AbortController().signal, timeoutMs: 150_000, now: () => now }))
      .rejects.toThrow(MeshTimeoutError);
    // Slices of at most a minute, the last one what was left.
    expect(asked).toEqual([60_000, 60_000, 30_000]);
  });

  it('stops on Ctrl-C at once, even when the client\'s wait does not notice', async () => {
    const interrupt = new AbortController();
    const wait = (): Promise<never> => {
      queueMicrotask(() => interrupt.abort());
      return new Promise(() => undefined);
    };
    await expect(awaitOutcome(clientWith({ wait, events: stuck }), 'i', { signal: interrupt.signal })).rejects.toThrow(InterruptedError);
  });

  it('stops on Ctrl-C with InterruptedError', async () => {
    const interrupt = new AbortController();
    const wait = async (): Promise<never> => {
      interrupt.abort();
      throw new Error('aborted');
    };
    await expect(awaitOutcome(clientWith({ wait, events: stuck }), 'i', { signal: interrupt.signal })).rejects.toThrow(InterruptedError);
  });
});
