import { parseAckSubject } from './ack-subject.js';

describe(parseAckSubject.name, () => {
  it('reads the classic 9-token form', () => {
    expect(parseAckSubject('$JS.ACK.MESH_WORK.work_echo.3.1042.17.1732000000000000000.5')).toEqual({
      stream: 'MESH_WORK', consumer: 'work_echo', deliveryCount: 3, streamSeq: 1042, pending: 5,
    });
  });

  it('reads the domain + account form', () => {
    expect(parseAckSubject('$JS.ACK.hub.ACCHASH.MESH_WORK.work_echo.1.7.7.1732000000000000000.0.abc')).toMatchObject({
      stream: 'MESH_WORK', consumer: 'work_echo', deliveryCount: 1, streamSeq: 7,
    });
  });

  it.each([undefined, '', '_INBOX.x.y', '$JS.ACK.a.b.c', '$JS.ACK.S.C.zero.1.1.1.0', '$JS.ACK.S.C.0.1.1.1.0'])('rejects %j', (s) => {
    expect(parseAckSubject(s)).toBeUndefined();
  });
});
