import { WorkerRegistry, type WorkerBeat } from './worker-registry.js';

const beat = (worker: string, over: Partial<WorkerBeat> = {}): WorkerBeat => ({
  worker, topic: `mesh.worker.${worker}`, tasks: ['echo'], capacity: 8, inflight: 0, seq: 0, ...over,
});

describe(WorkerRegistry.name, () => {
  it('announces a worker the first time it beats, and not again', () => {
    // A worker starts and keeps beating.
    const registry = new WorkerRegistry(1000);
    expect(registry.observe(beat('w1'), 0).joined).toBe(true);
    expect(registry.observe(beat('w1', { seq: 1 }), 200).joined).toBe(false);
    expect(registry.size).toBe(1);
  });

  it('expires a worker exactly when it has been silent for the expiry, and returns it', () => {
    // A worker is killed -9: its beats stop.
    const registry = new WorkerRegistry(1000);
    registry.observe(beat('w1'), 0);
    registry.observe(beat('w2'), 500);
    expect(registry.expire(999)).toEqual([]);
    expect(registry.expire(1000).map((w) => w.id)).toEqual(['w1']);
    expect(registry.list(1000).map((w) => w.id)).toEqual(['w2']);
    expect(registry.expire(1500).map((w) => w.id)).toEqual(['w2']);
    expect(registry.size).toBe(0);
  });

  it('keeps a worker alive as long as beats keep coming', () => {
    const registry = new WorkerRegistry(1000);
    for (let t = 0; t <= 10_000; t += 900) {
      registry.observe(beat('w1', { seq: t }), t);
      expect(registry.expire(t + 899)).toEqual([]);
    }
  });

  it('re-announces a worker that beats again after it was expired (a SIGSTOPped worker got SIGCONT)', () => {
    const registry = new WorkerRegistry(1000);
    registry.observe(beat('w1', { seq: 5 }), 0);
    registry.expire(2000);
    expect(registry.observe(beat('w1', { seq: 6 }), 2100).joined).toBe(true);
    expect(registry.list(2100)[0]).toMatchObject({ id: 'w1', uptimeMs: 0 });
  });

  it('does not move last-seen backwards for a late beat', () => {
    const registry = new WorkerRegistry(1000);
    registry.observe(beat('w1', { seq: 2 }), 500);
    registry.observe(beat('w1', { seq: 1 }), 400);
    expect(registry.expire(1499)).toEqual([]);
  });

  it('counts a restart when the sequence goes backwards', () => {
    const registry = new WorkerRegistry(1000);
    registry.observe(beat('w1', { seq: 40 }), 0);
    registry.observe(beat('w1', { seq: 0 }), 100);
    expect(registry.list(100)[0].restarts).toBe(1);
  });

  it('lists live workers with their load and age, most recently seen first', () => {
    const registry = new WorkerRegistry(1000);
    registry.observe(beat('a', { inflight: 3, tasks: ['echo', 'sleep'] }), 100);
    registry.observe(beat('b'), 300);
    expect(registry.list(400)).toEqual([
      { id: 'b', topic: 'mesh.worker.b', tasks: ['echo'], capacity: 8, inflight: 0, seq: 0, lastSeenMs: 100, uptimeMs: 100, restarts: 0 },
      { id: 'a', topic: 'mesh.worker.a', tasks: ['echo', 'sleep'], capacity: 8, inflight: 3, seq: 0, lastSeenMs: 300, uptimeMs: 300, restarts: 0 },
    ]);
  });

  it('knows which tasks live workers offer', () => {
    const registry = new WorkerRegistry(1000);
    registry.observe(beat('a', { tasks: ['echo', 'sleep'] }), 0);
    expect(registry.offers('sleep')).toBe(true);
    expect(registry.offers('fail')).toBe(false);
    registry.expire(1000);
    expect(registry.offers('sleep')).toBe(false);
  });

  it('removes a worker that says it is leaving', () => {
    const registry = new WorkerRegistry(1000);
    registry.observe(beat('a'), 0);
    expect(registry.remove('a')?.id).toBe('a');
    expect(registry.remove('a')).toBeUndefined();
  });

  it('counts what was sent to a worker as load until its next beat reports it', () => {
    // Two direct requests go to a worker whose last beat said 1 in flight; its next beat says 3.
    const registry = new WorkerRegistry(1000);
    registry.observe(beat('a', { inflight: 1 }), 0);
    registry.noteSent('a');
    registry.noteSent('a');
    registry.noteSent('gone');
    expect(registry.placeable()).toEqual([{ id: 'a', topic: 'mesh.worker.a', tasks: ['echo'], load: 3 }]);
    registry.observe(beat('a', { inflight: 3, seq: 1 }), 100);
    expect(registry.placeable()[0].load).toBe(3);
  });

  it('refuses a non-positive expiry', () => {
    expect(() => new WorkerRegistry(0)).toThrow(RangeError);
  });
});
