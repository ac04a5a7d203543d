import { leaseStep } from './lease.js';

describe(leaseStep.name, () => {
  it('creates a free lease, renews its own, takes over an expired one, and follows a live one', () => {
    expect(leaseStep(undefined, 'a', 1000)).toBe('create');
    expect(leaseStep({ holder: 'a', until: 500 }, 'a', 1000)).toBe('renew');
    expect(leaseStep({ holder: 'b', until: 999 }, 'a', 1000)).toBe('take-over');
    expect(leaseStep({ holder: 'b', until: 1000 }, 'a', 1000)).toBe('follow');
    expect(leaseStep({ holder: 'b', until: 5000 }, 'a', 1000)).toBe('follow');
  });
});
