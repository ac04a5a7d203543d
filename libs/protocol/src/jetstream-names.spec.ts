import { eventStreamName, jetStreamBase } from './jetstream-names.js';

describe(jetStreamBase.name, () => {
  it('upper-cases the prefix, dots becoming underscores', () => {
    expect(jetStreamBase('mesh')).toBe('MESH');
    expect(jetStreamBase('a.b')).toBe('A_B');
    expect(eventStreamName('mesh')).toBe('MESH_EVENTS');
    expect(eventStreamName('team-1.mesh')).toBe('TEAM-1_MESH_EVENTS');
  });

  it('refuses a prefix that cannot be a subject prefix', () => {
    expect(() => jetStreamBase('a.*')).toThrow(/prefix/);
    expect(() => jetStreamBase('')).toThrow(/prefix/);
  });
});
