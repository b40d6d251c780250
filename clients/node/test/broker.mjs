// Test helper: run a real ibbroker (and, when asked, a separate simulator) as child processes.
// Every wait is bounded; whatever a test started is stopped in its `after` hook.
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The broker's command line: IBBROKER_BIN, else the repository's .venv (made by `make install`). */
export const IBBROKER = process.env.IBBROKER_BIN ?? join(REPO, '.venv', 'bin', 'ibbroker');
if (!existsSync(IBBROKER)) {
  throw new Error(`${IBBROKER} not found: run \`make install\` at the repository root first`);
}

/** The Python of the broker's environment (next to its command line). */
export const PYTHON = join(dirname(IBBROKER), 'python');

/** A free loopback port (for a broker that must come back on the same address). */
export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/** Resolve with the first line of `stream` for which `pick(line)` is truthy, within `ms`. */
function firstLine(stream, pick, ms, what, child) {
  return new Promise((ok, fail) => {
    const lines = createInterface({ input: stream });
    const seen = [];
    const done = (err, value) => {
      clearTimeout(timer);
      lines.removeAllListeners('line');
      child.off('exit', onExit);
      if (err) fail(err);
      else ok(value);
    };
    const timer = setTimeout(
      () => done(new Error(`${what}: nothing within ${ms} ms; last lines:\n${seen.slice(-10).join('\n')}`)),
      ms,
    );
    const onExit = (code) =>
      done(new Error(`${what}: exited with ${code}; last lines:\n${seen.slice(-10).join('\n')}`));
    child.once('exit', onExit);
    lines.on('line', (line) => {
      seen.push(line);
      const value = pick(line);
      if (value) done(null, value);
    });
  });
}

function jsonLine(line) {
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
}

const HEALTH = protobuf.parse(`
  syntax = "proto3";
  package grpc.health.v1;
  message HealthCheckRequest { string service = 1; }
  message HealthCheckResponse {
    enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
    ServingStatus status = 1;
  }
  message HealthListRequest {}
  message HealthListResponse { map<string, HealthCheckResponse> statuses = 1; }
`).root;

/** Call grpc.health.v1.Health/`method` (Check or List) on `address`; resolves the response. */
export function healthCall(address, method, request = {}, timeoutMs = 2_000) {
  const [req, res] =
    method === 'List'
      ? ['HealthListRequest', 'HealthListResponse']
      : ['HealthCheckRequest', 'HealthCheckResponse'];
  const Req = HEALTH.lookupType(`grpc.health.v1.${req}`);
  const Res = HEALTH.lookupType(`grpc.health.v1.${res}`);
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((ok, fail) => {
    client.makeUnaryRequest(
      `/grpc.health.v1.Health/${method}`,
      (m) => Buffer.from(Req.encode(Req.fromObject(m)).finish()),
      (b) => Res.toObject(Res.decode(b), { enums: String, defaults: true }),
      request,
      { deadline: Date.now() + timeoutMs },
      (err, value) => {
        client.close();
        if (err) fail(err);
        else ok(value);
      },
    );
  });
}

/** Poll Health/Check until SERVING, at most `ms`. */
export async function waitServing(address, ms = 30_000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const { status } = await healthCall(address, 'Check');
      if (status === 'SERVING') return;
      last = status;
    } catch (err) {
      last = err.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`broker at ${address} not SERVING within ${ms} ms (last: ${last})`);
}

/**
 * Start `ibbroker serve` on 127.0.0.1 (`port` 0: any) with a fresh store file, on its built-in
 * simulator unless `ibPort` points it at a separate one. Resolves once Health says SERVING with
 * `{address, port, store, process, stop(signal)}`.
 */
export async function startBroker({
  port = 0,
  store,
  ibPort,
  dir,
  env: extraEnv,
  cwd,
  config,
  standby = false,
} = {}) {
  const home = dir ?? mkdtempSync(join(tmpdir(), 'ibbroker-node-'));
  const storePath = store ?? join(home, 'store.sqlite3');
  const args = ['serve', '--listen', `127.0.0.1:${port}`, '--store', storePath];
  if (config) args.push('--config', config);
  // A standby (PostgreSQL store led by another broker) listens with its stand-in first.
  const listening = standby ? 'standby_listening' : 'grpc_listening';
  const env = { ...process.env, IBBROKER_LOG_LEVEL: 'INFO', ...extraEnv };
  if (ibPort) env.IB_PORT = String(ibPort);
  else args.push('--sim');
  const child = spawn(IBBROKER, args, { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = [];
  const address = await firstLine(
    child.stderr,
    (line) => {
      stderr.push(line);
      const record = jsonLine(line);
      return record?.event === listening ? record.address : null;
    },
    30_000,
    'ibbroker serve',
    child,
  );
  child.stderr.on('data', () => {}); // keep draining
  if (!standby) await waitServing(address);
  const exited = new Promise((ok) => child.once('exit', (code, signal) => ok({ code, signal })));
  return {
    address,
    port: Number(address.split(':').pop()),
    store: storePath,
    dir: home,
    process: child,
    exited,
    /** Send `signal` and wait (at most 15 s, then SIGKILL) for the exit: {code, signal}. */
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const result = await exited;
      clearTimeout(killer);
      return result;
    },
    /** Stop and delete the temporary folder (when this helper made it). */
    async dispose() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGCONT');
      await this.stop('SIGTERM');
      if (!dir) rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Start `ibbroker sim` with a control port; resolves `{port, controlPort, ctl(...args), stop()}`. */
export async function startSim() {
  const child = spawn(IBBROKER, ['sim', '--port', '0', '--control-port', '0'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const info = await firstLine(
    child.stdout,
    (line) => {
      const record = jsonLine(line);
      return record?.event === 'sim_listening' ? record : null;
    },
    30_000,
    'ibbroker sim',
    child,
  );
  const exited = new Promise((ok) => child.once('exit', ok));
  return {
    port: info.port,
    controlPort: info.control_port,
    /** Run `ibbroker sim-ctl --port CONTROL ...args`; resolves its JSON reply. */
    async ctl(...args) {
      const { stdout } = await promisify(execFile)(
        IBBROKER,
        ['sim-ctl', '--port', String(info.control_port), ...args],
        { timeout: 15_000 },
      );
      return JSON.parse(stdout);
    },
    async stop() {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Resolve when `predicate()` is truthy (polled every 20 ms), or reject after `ms`. */
export async function until(predicate, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/**
 * A PostgreSQL of the test's own: the repository's test fixture (tests/support/postgres.py,
 * the pgserver wheel, or IBBROKER_TEST_PG_DSN) run by the broker's Python with a fresh
 * database. Resolves `{dsn, stop()}`; stop() ends the server (closing its stdin).
 */
export async function startPostgres() {
  const script = [
    'import asyncio, json, sys',
    'from tests.support.postgres import fresh_database, start_server',
    'servers = start_server()',
    'dsn = asyncio.run(fresh_database(next(servers)))',
    'print(json.dumps({"event": "pg_ready", "dsn": dsn}), flush=True)',
    'sys.stdin.read()',
    'for _ in servers: pass',
  ].join('\n');
  const child = spawn(PYTHON, ['-c', script], { cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'] });
  const dsn = await firstLine(
    child.stdout,
    (line) => {
      const record = jsonLine(line);
      return record?.event === 'pg_ready' ? record.dsn : null;
    },
    120_000,
    'PostgreSQL',
    child,
  );
  const exited = new Promise((ok) => child.once('exit', ok));
  return {
    dsn,
    async stop() {
      child.stdin.end();
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
