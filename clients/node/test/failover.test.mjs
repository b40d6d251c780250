// A client given both brokers' addresses, against two real brokers on one PostgreSQL: it finds
// the leader behind the standby (NOT_LEADER + leader_address), and when the leader is SIGKILLed
// its calls, its lease and its watch move to the standby once that takes over.
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, decodeError, holdLease, Router, safeToRepeat, unary, watch } from '@ibbroker/client';
import { freePort, startBroker, startPostgres, until } from './broker.mjs';

const TTL_S = 1;

describe('failover between two brokers on one PostgreSQL', () => {
  let pg;
  let leader;
  let standby;
  let dir;

  before(async () => {
    pg = await startPostgres();
    dir = mkdtempSync(join(tmpdir(), 'ibbroker-node-fo-'));
    const config = join(dir, 'broker.toml');
    writeFileSync(
      config,
      `[store]\nbackend = "postgres"\nleadership_ttl = ${TTL_S}\nstandby = true\n` +
        '[leases]\nquarantine_cooldown = 0.2\n',
    );
    const env = { IBBROKER_STORE_DSN: pg.dsn };
    leader = await startBroker({ config, env, dir, store: join(dir, 'a.sqlite3') });
    standby = await startBroker({ config, env, dir, store: join(dir, 'b.sqlite3'), standby: true });
  });

  after(async () => {
    await leader?.stop('SIGKILL');
    await standby?.stop('SIGTERM');
    await pg?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('routes by the answers: NOT_LEADER to the named leader, UNAVAILABLE to the next', async () => {
    const direct = connect(standby.address);
    let notLeader;
    try {
      await unary(direct.leases, 'ListLeases', {});
      assert.fail('a standby answered a call');
    } catch (err) {
      notLeader = err;
    } finally {
      direct.close();
    }
    const decoded = decodeError(notLeader);
    assert.equal(decoded.reason, 'NOT_LEADER');
    assert.equal(decoded.metadata.leader_address, leader.address);
    const dead = `127.0.0.1:${await freePort()}`;
    let now = 0;
    const router = new Router([dead, standby.address, leader.address], { now: () => now });
    assert.equal(router.failed({ code: 14, details: 'connection refused' }, dead), standby.address);
    assert.equal(router.failed({ code: 3, details: 'bad input' }, standby.address), standby.address);
    assert.equal(router.failed(notLeader, standby.address), leader.address);
    // A standby still naming a leader that did not answer a moment ago is stayed on.
    assert.equal(router.failed({ code: 14, details: 'refused' }, leader.address), standby.address);
    assert.equal(router.failed(notLeader, standby.address), standby.address);
    now += 5_000;
    assert.equal(router.failed(notLeader, standby.address), leader.address);
    assert.equal(safeToRepeat('PlaceOrder', { idempotency_key: 'k' }), true);
    assert.equal(safeToRepeat('PlaceOrder', {}), false);
    assert.equal(safeToRepeat('ModifyOrder', { idempotency_key: 'k' }), false);
  });

  it('finds the leader, then follows it to the standby after a SIGKILL', async () => {
    const broker = connect([standby.address, leader.address]);
    try {
      const { gateways } = await unary(broker.connections, 'GetConnectionState', {});
      assert.equal(gateways[0].gateway, 'paper');
      assert.equal(broker.address, leader.address, 'found behind the standby');
      assert.equal(broker.router.switches[0].new, leader.address);

      const held = await holdLease(broker, { owner: 'node-fo', ttlMs: 8_000 });
      const ends = [];
      const abort = new AbortController();
      const watching = (async () => {
        for await (const event of watch(broker.leases, 'WatchLeases', { owner: 'node-fo' }, {
          signal: abort.signal,
          initialBackoffMs: 50,
          maxBackoffMs: 500,
        })) {
          if (event.kind === 'LEASE_EVENT_KIND_SNAPSHOT_END') ends.push(broker.address);
        }
      })();
      await until(() => ends.length === 1, 10_000, 'the first snapshot');

      await leader.stop('SIGKILL');
      const killed = performance.now();
      let served;
      await until(
        async () => {
          try {
            const { lease } = await unary(broker.leases, 'GetLease', { lease_id: held.lease_id }, { timeoutMs: 2_000 });
            served = performance.now();
            return broker.address === standby.address && lease.state === 'LEASE_STATE_ACTIVE';
          } catch (err) {
            assert.equal(decodeError(err).code, 14, `${err.message}`);
            return false;
          }
        },
        30_000,
        'the client on the new leader',
      );
      console.log(`SIGKILL -> node client served by the new leader in ${((served - killed) / 1000).toFixed(2)} s`);
      await until(() => ends.length === 2, 15_000, 'the watch on the new leader');
      assert.deepEqual(ends, [leader.address, standby.address]);
      // The lease is renewed on the new leader and never lost.
      const deadline = held.deadline;
      await until(() => held.deadline > deadline, 8_000, 'a renewal on the new leader');
      assert.equal(held.lost, false);
      abort.abort();
      await watching;
      assert.equal(await held.close(), true);
    } finally {
      broker.close();
    }
  });
});
