// holdLease() against a real broker: renewals, release on close, and the two ways to lose a
// lease (the broker refuses a renew; the broker stops answering and the TTL runs out).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, decodeError, holdLease, LeaseLostError, unary } from '@ibbroker/client';
import { startBroker, until } from './broker.mjs';

const TTL_MS = 5_000; // the broker's shortest TTL

describe('holdLease', () => {
  let broker;
  let client;

  before(async () => {
    broker = await startBroker();
    client = connect(broker.address);
  });

  after(async () => {
    client?.close();
    await broker?.dispose();
  });

  it('acquires, renews at a fraction of the TTL and releases on close()', async () => {
    const held = await holdLease(client, { owner: 'node-holder', ttlMs: TTL_MS }, { renewFraction: 0.1 });
    try {
      assert.equal(held.lost, false);
      assert.equal(held.lease.owner, 'node-holder');
      assert.equal(held.lease.ttl.seconds, '5');
      const first = held.lease.expire_time;
      // Renewed every 0.5 s: the broker's expire_time moves forward.
      await until(async () => {
        const { lease } = await unary(client.leases, 'GetLease', { lease_id: held.lease_id });
        return BigInt(lease.expire_time.seconds) > BigInt(first.seconds);
      }, 4_000, 'a renew to move expire_time');
      assert.equal(held.lease.epoch, (await unary(client.leases, 'GetLease', { lease_id: held.lease_id })).lease.epoch);
      assert.ok(held.deadline > performance.now(), 'the local deadline is ahead');
    } finally {
      assert.equal(await held.close(), true);
    }
    assert.equal(await held.close(), false, 'close() is idempotent');
    const { leases } = await unary(client.leases, 'ListLeases', { owner: 'node-holder' });
    assert.deepEqual(leases, []);
  });

  it('is lost at once when the broker refuses a renew', async () => {
    const lost = [];
    const held = await holdLease(
      client,
      { owner: 'node-refused', ttlMs: TTL_MS },
      { renewFraction: 0.1, onLost: (err) => lost.push(err) },
    );
    // Someone else (an operator, a bug) releases it behind the holder's back.
    await unary(client.leases, 'ReleaseLease', {
      lease_id: held.lease_id,
      epoch: held.epoch,
      owner: 'node-refused',
    });
    const err = await Promise.race([
      held.whenLost,
      new Promise((_, fail) => setTimeout(() => fail(new Error('not lost within 3 s')), 3_000)),
    ]);
    assert.ok(err instanceof LeaseLostError);
    assert.equal(decodeError(err.cause).reason, 'LEASE_RELEASED');
    assert.deepEqual(lost, [err]);
    assert.equal(held.signal.aborted, true);
    assert.throws(() => held.check(), LeaseLostError);
    assert.equal(await held.close(), false, 'nothing to release');
  });

  it('is lost locally at last renew sent + TTL when the broker stops answering', async () => {
    const own = await startBroker();
    const ownClient = connect(own.address);
    try {
      let lostAt = null;
      const held = await holdLease(
        ownClient,
        { owner: 'node-frozen', ttlMs: TTL_MS },
        { renewFraction: 0.2, onLost: () => { lostAt = performance.now(); } },
      );
      // Freeze the broker: the socket stays open, renewals hang unanswered.
      own.process.kill('SIGSTOP');
      const frozenAt = performance.now();
      const deadline = held.deadline;
      assert.ok(deadline - frozenAt <= TTL_MS, 'the deadline counts from a renew already sent');
      await until(() => lostAt !== null, TTL_MS + 3_000, 'the lease to be lost');
      assert.ok(lostAt >= deadline - 5, `lost at ${lostAt}, before the deadline ${deadline}`);
      assert.ok(lostAt - deadline < 1_000, `lost ${lostAt - deadline} ms after the deadline`);
      assert.match(held.error.message, /no successful renew within the 5000 ms TTL/);
      own.process.kill('SIGCONT');
      assert.equal(await held.close(), false);
    } finally {
      ownClient.close();
      await own.dispose();
    }
  });

  it('survives a broker pause shorter than the TTL', async () => {
    let lost = null;
    const held = await holdLease(
      client,
      { owner: 'node-paused', ttlMs: TTL_MS },
      { renewFraction: 0.1, onLost: (err) => { lost = err; } },
    );
    try {
      broker.process.kill('SIGSTOP');
      const frozenAt = performance.now();
      await new Promise((r) => setTimeout(r, 2_000)); // the fault's length: 2 of the 5 s TTL
      broker.process.kill('SIGCONT');
      // A renew sent after the pause pushes the local deadline beyond where it was.
      await until(() => held.deadline > frozenAt + TTL_MS, 4_000, 'a renew after the pause');
      assert.equal(lost, null);
      assert.equal(held.lost, false);
      const { lease } = await unary(client.leases, 'GetLease', { lease_id: held.lease_id });
      assert.equal(lease.state, 'LEASE_STATE_ACTIVE');
      assert.equal(lease.epoch, held.epoch);
    } finally {
      broker.process.kill('SIGCONT');
      await held.close();
    }
  });

  it('surfaces a refused acquire as the broker error', async () => {
    const err = await holdLease(client, { owner: '' }).then(
      () => assert.fail('acquired without an owner'),
      (e) => e,
    );
    const decoded = decodeError(err);
    assert.equal(decoded.reason, 'INVALID_ARGUMENT');
    assert.deepEqual(decoded.fieldViolations.map((v) => v.field), ['owner']);
  });
});
