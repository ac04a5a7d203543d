import { meshNames } from './mesh-names.js';

describe(meshNames.name, () => {
  it('derives upper-case JetStream names from the prefix, dots becoming underscores', () => {
    const names = meshNames('mesh');
    expect([names.workStream, names.eventStream, names.tasksBucket, names.tasksBucketStream]).toEqual(['MESH_WORK', 'MESH_EVENTS', 'MESH_TASKS', 'KV_MESH_TASKS']);
    expect(meshNames('a.b').workStream).toBe('A_B_WORK');
    expect(meshNames('mesh').taskConsumer('echo')).toBe('work_echo');
    expect(meshNames('mesh').keyedConsumer(7)).toBe('keyed_7');
  });

  it('refuses a prefix or task name that cannot be part of a subject or consumer name', () => {
    expect(() => meshNames('a.*')).toThrow();
    expect(() => meshNames('')).toThrow();
    expect(() => meshNames('mesh').taskConsumer('a.b')).toThrow(/task/);
    expect(() => meshNames('mesh').taskConsumer('>')).toThrow(/task/);
    expect(() => meshNames('mesh').keyedConsumer(-1)).toThrow(/shard/);
    expect(() => meshNames('mesh').keyedConsumer(0.5)).toThrow(/shard/);
  });
});
