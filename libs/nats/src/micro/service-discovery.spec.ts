import { checkIdentity, discoveryResponse, discoverySubjects, DiscoveryVerb, EndpointStatsBook, type ServiceIdentity } from './service-discovery.js';

const identity: ServiceIdentity = { name: 'taskmesh-router', id: 'ABC123', version: '0.1.0', description: 'routes calls', metadata: { prefix: 'mesh' } };

describe('NATS micro discovery (ADR-32), pure part', () => {
  it('answers on the verb, the verb and name, and the verb, name and id', () => {
    expect(discoverySubjects(DiscoveryVerb.Info, identity)).toEqual(['$SRV.INFO', '$SRV.INFO.taskmesh-router', '$SRV.INFO.taskmesh-router.ABC123']);
  });

  it('refuses names, ids and versions ADR-32 does not allow', () => {
    expect(() => checkIdentity({ ...identity, name: 'task mesh' })).toThrow(/service name/);
    expect(() => checkIdentity({ ...identity, name: 'a.b' })).toThrow(/service name/);
    expect(() => checkIdentity({ ...identity, id: '' })).toThrow(/service id/);
    expect(() => checkIdentity({ ...identity, version: '1.0' })).toThrow(/SemVer/);
    expect(() => checkIdentity({ ...identity, version: '01.0.0' })).toThrow(/SemVer/);
    expect(checkIdentity({ ...identity, version: '1.2.3-rc.1+build.5' }).version).toBe('1.2.3-rc.1+build.5');
  });

  it('counts requests, errors and processing time per endpoint; the average is truncated', () => {
    const book = new EndpointStatsBook();
    book.add({ name: 'callAll', subject: 'mesh.call.*', queue_group: 'mesh-router' });
    book.add({ name: 'listWorkers', subject: 'mesh.workers.list', queue_group: 'mesh-router' });
    book.record('callAll', 1000);
    book.record('callAll', 2001, '400: unknown field "x"');
    book.record('callAll', 500);
    book.record('nope', 10);
    const [call, list] = book.snapshot();
    expect(call).toEqual({
      name: 'callAll', subject: 'mesh.call.*', queue_group: 'mesh-router',
      num_requests: 3, num_errors: 1, last_error: '400: unknown field "x"', processing_time: 3501, average_processing_time: 1167,
    });
    expect(list).toMatchObject({ num_requests: 0, num_errors: 0, last_error: '', processing_time: 0, average_processing_time: 0 });
  });

  it('declaring an endpoint again keeps its counters; snapshots are copies', () => {
    const book = new EndpointStatsBook();
    book.add({ name: 'e', subject: 's', queue_group: '' });
    book.record('e', 5);
    book.add({ name: 'e', subject: 's', queue_group: '' });
    const snap = book.snapshot();
    snap[0]!.num_requests = 99;
    expect(book.snapshot()[0]!.num_requests).toBe(1);
  });

  it('builds PING, INFO and STATS in the io.nats.micro.v1 schema', () => {
    const book = new EndpointStatsBook();
    book.add({ name: 'callAll', subject: 'mesh.call.*', queue_group: 'mesh-router' });
    const started = new Date('2026-01-02T03:04:05.000Z');
    const common = { name: 'taskmesh-router', id: 'ABC123', version: '0.1.0', metadata: { prefix: 'mesh' } };
    expect(discoveryResponse(DiscoveryVerb.Ping, identity, book, started)).toEqual({ type: 'io.nats.micro.v1.ping_response', ...common });
    expect(discoveryResponse(DiscoveryVerb.Info, identity, book, started)).toEqual({
      type: 'io.nats.micro.v1.info_response', ...common, description: 'routes calls',
      endpoints: [{ name: 'callAll', subject: 'mesh.call.*', queue_group: 'mesh-router', metadata: {} }],
    });
    expect(discoveryResponse(DiscoveryVerb.Stats, identity, book, started)).toEqual({
      type: 'io.nats.micro.v1.stats_response', ...common, started: '2026-01-02T03:04:05.000Z',
      endpoints: [{ name: 'callAll', subject: 'mesh.call.*', queue_group: 'mesh-router', num_requests: 0, num_errors: 0, last_error: '', processing_time: 0, average_processing_time: 0 }],
    });
  });
});
