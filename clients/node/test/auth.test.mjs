// connect({token}) against a real broker with auth on: the token is sent on every call.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, decodeError, unary } from '@ibbroker/client';
import { IBBROKER, startBroker } from './broker.mjs';

describe('a client with a bearer token', () => {
  let broker;
  let token;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ibbroker-node-auth-'));
    token = execFileSync(IBBROKER, ['token', 'create', 'node', '--scopes', 'read,lease'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    broker = await startBroker({ dir, cwd: dir, env: { IBBROKER_AUTH: 'true' } });
  });

  after(async () => {
    await broker?.dispose();
  });

  it('is served with its token and refused without it', async () => {
    const withToken = connect(broker.address, { token });
    const without = connect(broker.address);
    try {
      const reply = await unary(withToken.leases, 'AcquireLease', {});
      assert.equal(reply.lease.owner, 'node');
      const err = decodeError(await unary(without.connections, 'GetHealth', {}).catch((e) => e));
      assert.equal(err.reason, 'CREDENTIALS_MISSING');
    } finally {
      withToken.close();
      without.close();
    }
  });
});
