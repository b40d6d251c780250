// The example strategy against a real broker pointed at a separate simulator: it leases an ID,
// pauses on RECONNECTING and resumes on RESTORED when the simulator drops the broker's sockets,
// and releases the lease on SIGINT or after STRATEGY_SECONDS.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect, unary } from '@ibbroker/client';
import { startBroker, startSim, until } from './broker.mjs';

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'strategy.mjs');

/** Run the example; `lines` fills with its parsed JSON log lines. */
function runExample(address, env = {}) {
  const child = spawn(process.execPath, [EXAMPLE], {
    env: { ...process.env, IBBROKER_ADDRESS: address, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = [];
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line)));
  const exited = new Promise((ok) => child.once('exit', (code, signal) => ok({ code, signal })));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  exited.then(() => clearTimeout(killer));
  const seen = (event, extra = () => true) => lines.some((l) => l.event === event && extra(l));
  return { child, lines, exited, seen };
}

describe('examples/strategy.mjs', () => {
  let sim;
  let broker;
  let client;

  before(async () => {
    sim = await startSim();
    broker = await startBroker({ ibPort: sim.port });
    client = connect(broker.address);
  });

  after(async () => {
    client?.close();
    await broker?.dispose();
    await sim?.stop();
  });

  it('pauses on RECONNECTING, resumes on RESTORED and releases its lease on SIGINT', async () => {
    const run = runExample(broker.address, { STRATEGY_OWNER: 'node-example' });
    try {
      await until(() => run.seen('lease_acquired'), 10_000, 'the lease');
      await until(() => run.seen('state', (l) => l.state === 'CONNECTION_STATE_CONNECTED'), 10_000, 'the snapshot');
      const { leases } = await unary(client.leases, 'ListLeases', { owner: 'node-example' });
      assert.equal(leases.length, 1);
      assert.equal(leases[0].client_id, run.lines.find((l) => l.event === 'lease_acquired').client_id);

      // Fault: the simulator drops every socket; the broker reconnects and restores.
      await sim.ctl('drop');
      await until(() => run.seen('paused', (l) => l.why === 'RECONNECTING'), 15_000, 'RECONNECTING');
      await until(() => run.seen('resumed', (l) => l.why === 'RESTORED'), 20_000, 'RESTORED');

      run.child.kill('SIGINT');
      const { code } = await run.exited;
      assert.equal(code, 0);
      assert.ok(run.seen('released', (l) => l.ok === true), 'released on SIGINT');
      const afterExit = await unary(client.leases, 'ListLeases', { owner: 'node-example' });
      assert.deepEqual(afterExit.leases, []);
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('runs for a bounded time with STRATEGY_SECONDS and exits 0', async () => {
    const run = runExample(broker.address, { STRATEGY_OWNER: 'node-timed', STRATEGY_SECONDS: '2' });
    const { code } = await run.exited;
    assert.equal(code, 0);
    assert.ok(run.seen('lease_acquired'));
    assert.ok(run.seen('health', (l) => l.status === 'HEALTH_STATUS_HEALTHY'), 'health was watched');
    assert.ok(run.seen('released', (l) => l.ok === true));
  });

  it('exits 1 with the decoded error when the broker is not there', async () => {
    const run = runExample('127.0.0.1:1', { STRATEGY_OWNER: 'node-nobroker' });
    const { code } = await run.exited;
    assert.equal(code, 1);
    const error = run.lines.find((l) => l.event === 'error');
    assert.equal(error?.code, 'UNAVAILABLE');
  });
});
