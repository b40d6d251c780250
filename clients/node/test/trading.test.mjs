// Issue 10's walk-through from Node: a PROXIED lease, a LMT order seen in ListOpenOrders and on
// WatchOrderEvents, cancelled; a MKT order filled and the position moved. Against a real broker
// on its built-in simulator, through @grpc/grpc-js and the package's own helpers.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connect, decodeError, unary, watch } from '@ibbroker/client';
import { startBroker } from './broker.mjs';

const OWNER = 'node-trader';
const AAPL = {
  symbol: 'AAPL',
  security_type: 'SECURITY_TYPE_STOCK',
  exchange: 'SMART',
  currency: 'USD',
};

/** The first event of `events` for which `pick(event)` is true, within `ms`. Reads with
 * next() rather than for-await, which would close the shared stream when it returns. */
async function firstEvent(events, pick, ms = 15_000) {
  let timer;
  const timeout = new Promise((_, fail) => {
    timer = setTimeout(() => fail(new Error(`no matching order event within ${ms} ms`)), ms);
  });
  const search = (async () => {
    for (;;) {
      const { value, done } = await events.next();
      if (done) throw new Error('the order-event stream ended');
      if (pick(value)) return value;
    }
  })();
  try {
    return await Promise.race([search, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function position(positions) {
  const row = positions.find((p) => p.contract.symbol === 'AAPL');
  return row ? Number(row.quantity ?? row.position) : 0;
}

describe('trading from Node through the broker', () => {
  let broker;
  let client;
  let lease;

  before(async () => {
    broker = await startBroker();
    client = connect(broker.address);
    ({ lease } = await unary(client.leases, 'AcquireLease', {
      owner: OWNER,
      mode: 'LEASE_MODE_PROXIED',
      ttl: { seconds: '300' },
    }));
  });

  after(async () => {
    if (lease) {
      await unary(client.leases, 'ReleaseLease', {
        lease_id: lease.lease_id,
        epoch: lease.epoch,
        owner: OWNER,
      }).catch(() => {});
    }
    client?.close();
    await broker?.dispose();
  });

  const fenced = () => ({ lease_id: lease.lease_id, epoch: lease.epoch, owner: OWNER });

  it('places a LMT order, lists it, watches it and cancels it', async () => {
    const key = `lmt-${randomUUID()}`;
    const abort = new AbortController();
    const events = watch(client.trading, 'WatchOrderEvents', { owner: OWNER }, {
      signal: abort.signal,
    });
    try {
      await firstEvent(events, (e) => e.kind === 'ORDER_EVENT_KIND_SNAPSHOT_END');
      const { order } = await unary(client.trading, 'PlaceOrder', {
        ...fenced(),
        idempotency_key: key,
        single: {
          contract: AAPL,
          side: 'ORDER_SIDE_BUY',
          quantity: '10',
          order_type: 'ORDER_TYPE_LIMIT',
          limit_price: '1.25', // far below the market: the order keeps working
        },
      });
      assert.equal(order.idempotency_key, key);
      assert.equal(order.client_id, lease.client_id, 'placed on the lease\'s client ID');

      const { orders } = await unary(client.trading, 'ListOpenOrders', { owner: OWNER });
      assert.ok(orders.some((o) => o.idempotency_key === key), 'listed as open');

      const seen = await firstEvent(events, (e) => e.order?.idempotency_key === key);
      assert.ok(Number(seen.sequence) > 0);

      const cancelled = await unary(client.trading, 'CancelOrder', {
        ...fenced(),
        order: { idempotency_key: key },
      });
      assert.equal(cancelled.order.state, 'ORDER_STATE_CANCELLED');
      await firstEvent(
        events,
        (e) => e.order?.idempotency_key === key && e.order.state === 'ORDER_STATE_CANCELLED',
      );
      const open = await unary(client.trading, 'ListOpenOrders', { owner: OWNER });
      assert.ok(!open.orders.some((o) => o.idempotency_key === key), 'no longer open');
    } finally {
      abort.abort();
    }
  });

  it('places a MKT order, sees the fill and the position change', async () => {
    const before = position((await unary(client.trading, 'GetPositions', {})).positions);
    const key = `mkt-${randomUUID()}`;
    const request = {
      ...fenced(),
      idempotency_key: key,
      single: { contract: AAPL, side: 'ORDER_SIDE_BUY', quantity: '10', order_type: 'ORDER_TYPE_MARKET' },
    };
    const { order } = await unary(client.trading, 'PlaceOrder', request);
    let state = order.state;
    const end = Date.now() + 15_000;
    while (state !== 'ORDER_STATE_FILLED' && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
      const { orders } = await unary(client.trading, 'ListCompletedOrders', { owner: OWNER });
      state = orders.find((o) => o.idempotency_key === key)?.state ?? state;
    }
    assert.equal(state, 'ORDER_STATE_FILLED');
    const again = await unary(client.trading, 'PlaceOrder', request);
    assert.equal(again.order.order_id, order.order_id, 'the same key returns the same order');

    let now = before;
    while (now !== before + 10 && Date.now() < end) {
      now = position((await unary(client.trading, 'GetPositions', {})).positions);
      if (now !== before + 10) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(now, before + 10);
  });

  it('answers a bad order with INVALID_ARGUMENT and its field violations', async () => {
    const err = await unary(client.trading, 'PlaceOrder', {
      ...fenced(),
      idempotency_key: `bad-${randomUUID()}`,
      single: { contract: AAPL, side: 'ORDER_SIDE_BUY', quantity: '-1', order_type: 'ORDER_TYPE_LIMIT' },
    }).then(
      () => null,
      (e) => e,
    );
    assert.ok(err, 'refused');
    const info = decodeError(err);
    assert.equal(info.codeName, 'INVALID_ARGUMENT');
    const fields = info.fieldViolations.map((v) => v.field);
    assert.ok(fields.includes('single.quantity'), fields.join(', '));
  });
});
