// Compiled (not run) by `npm test` with tsc: the public types fit the generated ones, method
// names are checked, and the messages have the fields and types the loader options produce.
import {
  connect,
  decodeError,
  holdLease,
  unary,
  watch,
  type ConnectionEvent,
  type HealthEvent,
  type LeaseEvent,
} from '@ibbroker/client';

export async function typed(): Promise<void> {
  const broker = connect('127.0.0.1:50051');
  const { leases } = await unary(broker.leases, 'ListLeases', { owner: 'x' });
  const epoch: string = leases[0].epoch; // 64-bit integers are strings
  const id: number = leases[0].client_id;
  const state: string = leases[0].state; // enums are names
  void [epoch, id, state];
  // @ts-expect-error an epoch is a string, not a number
  const wrong: number = leases[0].epoch;
  void wrong;

  // @ts-expect-error not a method of LeaseService
  await unary(broker.leases, 'NoSuchMethod', {});
  // @ts-expect-error a streaming method is not unary
  await unary(broker.leases, 'WatchLeases', {});
  // @ts-expect-error wrong field type
  await unary(broker.leases, 'GetLease', { lease_id: 7 });

  const held = await holdLease(broker, { owner: 'x', ttlMs: 30_000 }, { onLost: (e) => e.lease.lease_id });
  const clientId: number = held.client_id;
  void clientId;
  await held.close();

  for await (const event of watch(broker.connections, 'WatchConnectionState', { gateway: 'paper' })) {
    const e: ConnectionEvent = event;
    // @ts-expect-error a HealthEvent is not what WatchConnectionState yields
    const h: HealthEvent = event;
    void h;
    if (e.state === 'CONNECTION_STATE_RECONNECTING') break;
  }
  for await (const event of watch(broker.connections, 'WatchHealth')) {
    const e: HealthEvent = event;
    void e.reasons.map((r) => r.code);
  }
  for await (const event of watch(broker.leases, 'WatchLeases', { owner: 'x' })) {
    const e: LeaseEvent = event;
    void e.lease?.lease_id;
  }
  // @ts-expect-error a unary method is not a stream
  watch(broker.leases, 'GetLease', {});

  try {
    await unary(broker.leases, 'AcquireLease', { owner: '' });
  } catch (err) {
    const { reason, retryDelayMs, fieldViolations } = decodeError(err);
    void [reason, retryDelayMs, fieldViolations[0]?.field];
  }
  // TradingService is typed like the others.
  for await (const event of watch(broker.trading, 'WatchOrderEvents', {})) {
    void event.sequence;
  }
  // @ts-expect-error not a TradingService method
  await unary(broker.trading, 'AcquireLease', { owner: 'x' });
  broker.close();
}
