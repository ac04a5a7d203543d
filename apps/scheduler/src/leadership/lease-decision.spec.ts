import { decideLease } from './lease-decision.js';

const lease = (holder: string, revision: number) => ({ value: { holder, renewedAt: '' }, revision });

describe(decideLease.name, () => {
  it('creates a missing lease and renews its own', () => {
    expect(decideLease('a', 1000, 0, undefined, undefined)).toEqual({ do: 'create' });
    expect(decideLease('a', 1000, 0, lease('a', 7), undefined)).toEqual({ do: 'update', revision: 7, takeover: false });
  });

  it('takes over a lease only after seeing it unchanged for a whole period on its own clock', () => {
    // A replica boots while another leads: it starts watching the revision.
    const first = decideLease('b', 1000, 5_000, lease('a', 7), undefined);
    expect(first).toEqual({ do: 'wait', observed: { revision: 7, sinceMs: 5_000 } });
    const observed = { revision: 7, sinceMs: 5_000 };
    expect(decideLease('b', 1000, 5_999, lease('a', 7), observed)).toEqual({ do: 'wait', observed });
    expect(decideLease('b', 1000, 6_000, lease('a', 7), observed)).toEqual({ do: 'update', revision: 7, takeover: true });
  });

  it('starts counting again whenever the holder renews', () => {
    expect(decideLease('b', 1000, 6_000, lease('a', 8), { revision: 7, sinceMs: 5_000 })).toEqual({ do: 'wait', observed: { revision: 8, sinceMs: 6_000 } });
  });
});
