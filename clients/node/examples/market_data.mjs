#!/usr/bin/env node
// Subscribe to one instrument's quotes through the broker (one IB line shared by every
// subscriber, whatever the language):
//   - SNAPSHOT first, then UPDATEs (`changed` fields; `conflated_updates` when this reader was
//     slower than the ticks: the latest value per field wins);
//   - GAP then a fresh SNAPSHOT after the broker healed the line (reconnect, 1101, farm outage);
//   - resumes by itself after a broker restart (the broker sends a GAP and a new SNAPSHOT).
//
// Run: IBBROKER_ADDRESS=127.0.0.1:50051 CON_ID=265598 node examples/market_data.mjs
// Environment: IBBROKER_ADDRESS (default 127.0.0.1:50051), CON_ID (default 265598, AAPL),
// MD_OWNER (default node-md-PID), MD_EVENTS (stop after this many events; default: until a
// signal).
import { connect, decodeError, watch } from '@ibbroker/client';

const address = process.env.IBBROKER_ADDRESS ?? '127.0.0.1:50051';
const conId = Number(process.env.CON_ID ?? 265598);
const owner = process.env.MD_OWNER ?? `node-md-${process.pid}`;
const maxEvents = Number(process.env.MD_EVENTS ?? 0);

const log = (event, fields = {}) =>
  console.log(JSON.stringify({ ts: new Date().toISOString(), event, ...fields }));

const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => stop.abort());

const broker = connect(address);
let exitCode = 0;
let seen = 0;
try {
  const request = { contract: { con_id: conId }, owner };
  for await (const event of watch(broker.trading, 'WatchMarketData', request, {
    signal: stop.signal,
    stopOnFinal: false,
  })) {
    const { kind, sequence, quote } = event;
    if (kind === 'MARKET_DATA_EVENT_KIND_GAP') {
      log('gap', { sequence, reason: event.reason, from: event.gap_start, to: event.gap_end });
    } else if (kind === 'MARKET_DATA_EVENT_KIND_FINAL') {
      log('broker_stopping', { note: 'the watch resumes when it is back' });
    } else {
      log(kind === 'MARKET_DATA_EVENT_KIND_SNAPSHOT' ? 'snapshot' : 'update', {
        sequence,
        bid: quote?.bid,
        ask: quote?.ask,
        last: quote?.last,
        changed: event.changed,
        conflated: event.conflated_updates,
      });
    }
    seen += 1;
    if (maxEvents > 0 && seen >= maxEvents) break;
  }
} catch (err) {
  if (!stop.signal.aborted) {
    const info = decodeError(err);
    log('error', { code: info.code, reason: info.reason, message: info.message });
    exitCode = 1;
  }
} finally {
  broker.close();
}
process.exit(exitCode);
