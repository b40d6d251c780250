// A stopping server cancels the calls in flight (a standby's stand-in giving way to the broker
// proper): with several addresses, a call safe to repeat is re-sent once after CANCELLED, as the
// Python client does; a call that is not safe to repeat surfaces it. Real grpc-js server on
// loopback that answers CANCELLED when scripted to.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { connect, decodeError, loadPackage, unary } from '@ibbroker/client';

describe('a CANCELLED answer with several addresses', () => {
  let server;
  let client;
  let address;
  const cancels = { GetLease: 0, Reconnect: 0 };
  const calls = { GetLease: 0, Reconnect: 0 };

  before(async () => {
    server = new grpc.Server();
    const pkg = loadPackage().ibbroker.v1;
    const answer = (name, reply) => (call, callback) => {
      calls[name] += 1;
      if (cancels[name] > 0) {
        cancels[name] -= 1;
        callback({ code: grpc.status.CANCELLED, details: 'server stopping' });
      } else callback(null, reply);
    };
    server.addService(pkg.LeaseService.service, {
      GetLease: answer('GetLease', { lease: { lease_id: 'l-1', state: 'LEASE_STATE_ACTIVE' } }),
    });
    server.addService(pkg.ConnectionService.service, {
      Reconnect: answer('Reconnect', {}),
    });
    const port = await new Promise((ok, fail) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? fail(err) : ok(p),
      ),
    );
    address = `127.0.0.1:${port}`;
    client = connect([address, '127.0.0.1:1']);
  });

  after(() => {
    client?.close();
    server?.forceShutdown();
  });

  it('re-sends a safe call once, on the same address', async () => {
    cancels.GetLease = 1;
    calls.GetLease = 0;
    const { lease } = await unary(client.leases, 'GetLease', { lease_id: 'l-1' }, { timeoutMs: 5_000 });
    assert.equal(lease.state, 'LEASE_STATE_ACTIVE');
    assert.equal(calls.GetLease, 2);
    assert.equal(client.address, address);
  });

  it('re-sends only once: a second CANCELLED surfaces', async () => {
    cancels.GetLease = 2;
    calls.GetLease = 0;
    await assert.rejects(unary(client.leases, 'GetLease', { lease_id: 'l-1' }, { timeoutMs: 5_000 }), (err) => {
      assert.equal(decodeError(err).code, grpc.status.CANCELLED);
      return true;
    });
    assert.equal(calls.GetLease, 2);
  });

  it('never re-sends a call that is not safe to repeat', async () => {
    cancels.Reconnect = 1;
    calls.Reconnect = 0;
    await assert.rejects(unary(client.connections, 'Reconnect', { gateway: 'paper' }, { timeoutMs: 5_000 }));
    assert.equal(calls.Reconnect, 1);
  });
});
