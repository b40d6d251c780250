// connect(), unary() and decodeError() against a real broker on its built-in simulator.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { CHANNEL_OPTIONS, connect, decodeError, SERVICES, unary } from '@ibbroker/client';
import { freePort, healthCall, PYTHON, startBroker } from './broker.mjs';

describe('a client against a real broker', () => {
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

  it('pings no more often than the broker accepts, with its message size limit', () => {
    // The server's own defaults, read from its configuration (broker_server/config.py).
    const server = JSON.parse(
      execFileSync(PYTHON, [
        '-c',
        'import json; from broker_server.config import ServerConfig as S; c = S(); ' +
          'print(json.dumps([c.min_client_ping_interval, c.max_message_bytes]))',
      ], { encoding: 'utf8', timeout: 30_000 }),
    );
    const [minPingSeconds, maxMessageBytes] = server;
    assert.ok(
      CHANNEL_OPTIONS['grpc.keepalive_time_ms'] >= 2 * minPingSeconds * 1000,
      `client pings every ${CHANNEL_OPTIONS['grpc.keepalive_time_ms']} ms; the server accepts one every ${minPingSeconds} s`,
    );
    assert.equal(CHANNEL_OPTIONS['grpc.max_receive_message_length'], maxMessageBytes);
    assert.equal(CHANNEL_OPTIONS['grpc.max_send_message_length'], maxMessageBytes);
  });

  it('gives every service of SERVICES a client on one shared channel', () => {
    assert.deepEqual(Object.keys(SERVICES).sort(), ['connections', 'leases', 'trading']);
    for (const prop of Object.keys(SERVICES)) {
      assert.equal(client[prop].getChannel(), client.channel, prop);
    }
    assert.equal(typeof client.trading.PlaceOrder, 'function');
    assert.equal(typeof client.trading.WatchOrderEvents, 'function');
  });

  it('reads the connection state with enums as names and 64-bit integers as strings', async () => {
    const { gateways } = await unary(client.connections, 'GetConnectionState', {});
    assert.equal(gateways.length, 1);
    assert.equal(gateways[0].gateway, 'paper');
    assert.equal(gateways[0].paper_trading, true);
    const monitor = gateways[0].sessions.find((s) => s.role === 'SESSION_ROLE_MONITOR');
    assert.ok(monitor, 'the monitor session is listed');
    assert.equal(monitor.client_id, 99);
    assert.equal(typeof monitor.generation, 'string');
  });

  it('lists, acquires, renews and releases a lease', async () => {
    const before = await unary(client.leases, 'ListLeases', {});
    assert.deepEqual(before.leases, []);

    const { lease } = await unary(client.leases, 'AcquireLease', {
      owner: 'node-test',
      ttl: { seconds: '10', nanos: 0 },
      request_id: 'node-test-1',
    });
    assert.equal(lease.owner, 'node-test');
    assert.equal(lease.state, 'LEASE_STATE_ACTIVE');
    assert.equal(lease.mode, 'LEASE_MODE_DIRECT');
    assert.ok(lease.client_id >= 100 && lease.client_id <= 130, `client ID ${lease.client_id}`);
    assert.equal(lease.ttl.seconds, '10');

    // The same request_id is the same lease (idempotent acquire).
    const again = await unary(client.leases, 'AcquireLease', {
      owner: 'node-test',
      ttl: { seconds: '10', nanos: 0 },
      request_id: 'node-test-1',
    });
    assert.equal(again.lease.lease_id, lease.lease_id);

    const listed = await unary(client.leases, 'ListLeases', { owner: 'node-test' });
    assert.deepEqual(
      listed.leases.map((l) => l.lease_id),
      [lease.lease_id],
    );

    const renewed = await unary(client.leases, 'RenewLease', {
      lease_id: lease.lease_id,
      epoch: lease.epoch,
      owner: 'node-test',
      ttl: { seconds: '20', nanos: 0 },
    });
    assert.equal(renewed.lease.epoch, lease.epoch);
    assert.equal(renewed.lease.ttl.seconds, '20');
    assert.ok(
      BigInt(renewed.lease.expire_time.seconds) > BigInt(lease.expire_time.seconds),
      'the renew moved expire_time',
    );

    await unary(client.leases, 'ReleaseLease', {
      lease_id: lease.lease_id,
      epoch: lease.epoch,
      owner: 'node-test',
    });
    const afterRelease = await unary(client.leases, 'ListLeases', { owner: 'node-test' });
    assert.deepEqual(afterRelease.leases, []);

    // Renewing the released lease is refused with a reason the client can act on.
    const err = await unary(client.leases, 'RenewLease', {
      lease_id: lease.lease_id,
      epoch: lease.epoch,
      owner: 'node-test',
    }).then(
      () => assert.fail('renew of a released lease succeeded'),
      (e) => e,
    );
    const decoded = decodeError(err);
    assert.equal(decoded.domain, 'ibbroker.v1');
    assert.equal(decoded.reason, 'LEASE_RELEASED');
    assert.equal(decoded.retryDelayMs, null);
  });

  it('decodes a bad request into INVALID_ARGUMENT with field violations', async () => {
    const err = await unary(client.leases, 'AcquireLease', {
      owner: '',
      ttl: { seconds: '1', nanos: 0 },
    }).then(
      () => assert.fail('a lease without an owner was granted'),
      (e) => e,
    );
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
    const decoded = decodeError(err);
    assert.equal(decoded.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(decoded.codeName, 'INVALID_ARGUMENT');
    assert.equal(decoded.reason, 'INVALID_ARGUMENT');
    assert.equal(decoded.domain, 'ibbroker.v1');
    const fields = decoded.fieldViolations.map((v) => v.field).sort();
    assert.deepEqual(fields, ['owner', 'ttl']);
    for (const v of decoded.fieldViolations) assert.ok(v.description.length > 0);
    assert.ok(decoded.message.length > 0);
  });

  it('decodes a not-found lease with its reason and no retry delay', async () => {
    const err = await unary(client.leases, 'GetLease', { lease_id: randomUUID() }).then(
      () => assert.fail('found a lease that does not exist'),
      (e) => e,
    );
    const decoded = decodeError(err);
    assert.equal(decoded.codeName, 'NOT_FOUND');
    assert.equal(decoded.reason, 'LEASE_NOT_FOUND');
    assert.equal(decoded.retryDelayMs, null);
  });

  it('decodes an unknown gateway', async () => {
    const err = await unary(client.connections, 'GetHealth', { gateway: 'nope' }).then(
      () => assert.fail('an unknown gateway answered'),
      (e) => e,
    );
    assert.equal(decodeError(err).reason, 'GATEWAY_UNKNOWN');
  });

  it('fails within its deadline with UNAVAILABLE against a dead address', async () => {
    const dead = connect(`127.0.0.1:${await freePort()}`);
    const started = Date.now();
    try {
      const err = await unary(dead.leases, 'ListLeases', {}, { timeoutMs: 2_000 }).then(
        () => assert.fail('a dead address answered'),
        (e) => e,
      );
      const decoded = decodeError(err);
      assert.ok(
        ['UNAVAILABLE', 'DEADLINE_EXCEEDED'].includes(decoded.codeName),
        `got ${decoded.codeName}`,
      );
      assert.equal(decoded.reason, '');
      assert.ok(decoded.message.length > 0);
      assert.ok(Date.now() - started < 5_000, 'failed within the deadline');
    } finally {
      dead.close();
    }
  });

  it('lists every service as SERVING with grpc.health.v1.Health/List', async () => {
    const { statuses } = await healthCall(broker.address, 'List');
    for (const name of ['', 'ibbroker.v1.LeaseService', 'ibbroker.v1.ConnectionService']) {
      assert.equal(statuses[name]?.status, 'SERVING', `service "${name}"`);
    }
  });

  it('rejects a method the service does not have', async () => {
    await assert.rejects(unary(client.leases, 'NoSuchMethod', {}), /no method NoSuchMethod/);
  });

  // Last in this file: it leaves every client ID of the broker leased or resting.
  it('decodes RetryInfo when every client ID is leased', async () => {
    const held = [];
    let err;
    try {
      for (let i = 0; i < 40 && !err; i++) {
        await unary(client.leases, 'AcquireLease', { owner: 'node-exhaust', ttl: { seconds: '30', nanos: 0 } }).then(
          ({ lease }) => held.push(lease),
          (e) => {
            err = e;
          },
        );
      }
      assert.ok(err, `${held.length} leases granted and no refusal`);
      const decoded = decodeError(err);
      assert.equal(decoded.codeName, 'RESOURCE_EXHAUSTED');
      assert.equal(decoded.reason, 'CLIENT_ID_EXHAUSTED');
      assert.ok(decoded.retryDelayMs > 0 && decoded.retryDelayMs <= 30_000, `retry in ${decoded.retryDelayMs} ms`);
      // The default range 100-130, less IDs still resting after earlier tests' releases.
      assert.ok(held.length >= 25 && held.length <= 31, `${held.length} leases granted`);
    } finally {
      for (const lease of held) {
        await unary(client.leases, 'ReleaseLease', { lease_id: lease.lease_id, epoch: lease.epoch, owner: 'node-exhaust' });
      }
    }
  });
});
