import { HealthRegistry, ProgressCheck } from './health.js';

describe(HealthRegistry.name, () => {
  it('is healthy only when every check passes', () => {
    const health = new HealthRegistry();
    let nats = true;
    health.register('nats', () => ({ ok: nats }));
    health.register('loop', () => ({ ok: true }));
    expect(health.report().ok).toBe(true);
    nats = false;
    expect(health.report()).toEqual({ ok: false, checks: { nats: { ok: false }, loop: { ok: true } } });
  });

  it('turns a throwing check into a failed one', () => {
    const health = new HealthRegistry();
    health.register('broken', () => {
      throw new Error('boom');
    });
    expect(health.report()).toEqual({ ok: false, checks: { broken: { ok: false, detail: 'check threw: boom' } } });
  });
});

describe(ProgressCheck.name, () => {
  it('fails after the allowed silence and recovers on the next beat', () => {
    let now = 1000;
    const progress = new ProgressCheck(500, () => now);
    now = 1500;
    expect(progress.check().ok).toBe(true);
    now = 1501;
    expect(progress.check()).toEqual({ ok: false, detail: 'no progress for 501 ms' });
    progress.beat();
    expect(progress.check().ok).toBe(true);
  });
});
