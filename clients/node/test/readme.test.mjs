// The Node snippets of README.md and clients/node/README.md run as written against a broker.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startBroker } from './broker.mjs';

const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT_README = join(PACKAGE, '..', '..', 'README.md');

/** The first ```js block after `heading` (or the first at all) in the Markdown file. */
function snippet(file, heading) {
  const text = readFileSync(file, 'utf8');
  const from = heading ? text.indexOf(heading) : 0;
  assert.ok(from >= 0, `${heading} not in ${file}`);
  const match = /```js\n([\s\S]*?)```/.exec(text.slice(from));
  assert.ok(match, `no js block in ${file}`);
  return match[1];
}

/** Run `code` as a module inside the package (so '@ibbroker/client' resolves as installed). */
async function run(code, address, name) {
  const file = join(PACKAGE, `.${name}.snippet.mjs`);
  writeFileSync(file, code);
  try {
    return await promisify(execFile)(process.execPath, [file], {
      env: { ...process.env, IBBROKER_ADDRESS: address },
      timeout: 30_000,
    });
  } finally {
    rmSync(file, { force: true });
  }
}

describe('README snippets', () => {
  let broker;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker?.dispose();
  });

  it('README.md "Node.js" runs', { skip: !existsSync(ROOT_README) && 'not in the repository' }, async () => {
    const { stdout } = await run(snippet(ROOT_README, '## Node.js'), broker.address, 'readme');
    assert.match(stdout, /IB client ID 1\d\d/);
    assert.match(stdout, /paper\/monitor CONNECTION_STATE_CONNECTED EVENT_KIND_SNAPSHOT/);
    assert.match(stdout, /reason: 'INVALID_ARGUMENT'/);
    assert.match(stdout, /field: 'owner'/);
  });

  it('clients/node/README.md runs', async () => {
    const { stdout } = await run(snippet(join(PACKAGE, 'README.md')), broker.address, 'package-readme');
    assert.match(stdout, /TWS client ID 1\d\d epoch \d+/);
    assert.match(stdout, /paper\/monitor HEALTH_STATUS_HEALTHY/);
    assert.match(stdout, /INVALID_ARGUMENT INVALID_ARGUMENT null/);
  });
});
