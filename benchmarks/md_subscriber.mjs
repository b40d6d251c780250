#!/usr/bin/env node
// One subscriber process of bench_market_data.py (--subscriber-kinds node): opens STREAMS
// WatchMarketData streams (grpc-js, the Node client's protos and channel options) on CON_IDS,
// says "ready" on stdout once every stream has its SNAPSHOT, waits for "go" on stdin, lets the
// streams settle WARMUP seconds, then for SECONDS records, for every UPDATE whose last trade
// changed, receipt wall time - the simulator's send time (RT Volume, carried in
// quote.last_trade_time), and prints one JSON line {latencies, events, conflated}.
//
// Run by the benchmark: node benchmarks/md_subscriber.mjs PORT CON_IDS STREAMS_PER_ID SECONDS
//   WARMUP   (CON_IDS comma-separated)
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const clientDir = join(here, '..', 'clients', 'node');
const require = createRequire(join(clientDir, 'package.json'));
const grpc = require('@grpc/grpc-js');
const { loadPackage, CHANNEL_OPTIONS } = await import(join(clientDir, 'src', 'index.js'));

const [port, conIdsText, perIdText, secondsText, warmupText] = process.argv.slice(2);
const conIds = conIdsText.split(',').map(Number);
const perId = Number(perIdText);
const seconds = Number(secondsText);
const warmup = Number(warmupText);

const root = loadPackage();
const client = new root.ibbroker.v1.TradingService(
  `127.0.0.1:${port}`,
  grpc.credentials.createInsecure(),
  CHANNEL_OPTIONS,
);

const now = () => (performance.timeOrigin + performance.now()) / 1000;
const latencies = [];
let events = 0;
let conflated = 0;
let measuring = false;
let ready = 0;
const calls = [];
let total = 0;
for (const conId of conIds) {
  for (let i = 0; i < perId; i += 1) {
    const call = client.WatchMarketData({ contract: { con_id: conId }, owner: 'b' });
    total += 1;
    call.on('data', ({ event }) => {
      if (event.kind === 'MARKET_DATA_EVENT_KIND_SNAPSHOT') {
        ready += 1;
        if (ready === total) process.stdout.write('ready\n');
        return;
      }
      if (!measuring) return;
      events += 1;
      conflated += event.conflated_updates;
      const t = event.quote?.last_trade_time;
      if (
        event.kind === 'MARKET_DATA_EVENT_KIND_UPDATE' &&
        event.changed.includes('MARKET_DATA_FIELD_LAST') &&
        t
      ) {
        latencies.push(now() - (Number(t.seconds) + t.nanos / 1e9));
      }
    });
    call.on('error', () => {}); // cancelled at the end
    calls.push(call);
  }
}

const input = createInterface({ input: process.stdin });
input.once('line', () => {
  setTimeout(() => {
    measuring = true;
    setTimeout(() => {
      measuring = false;
      for (const call of calls) call.cancel();
      process.stdout.write(`${JSON.stringify({ latencies, events, conflated })}\n`, () => {
        client.close();
        process.exit(0);
      });
    }, seconds * 1000);
  }, warmup * 1000);
});
