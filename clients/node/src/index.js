// @ibbroker/client: typed clients for the ibbroker gRPC broker. See README.md.
export { connect, unary, SERVICES, CHANNEL_OPTIONS, DEFAULT_TIMEOUT_MS } from './connect.js';
export { Router, addressesOf, safeToRepeat, FAILOVER_CHANNEL_OPTIONS } from './failover.js';
export { decodeError } from './errors.js';
export { holdLease, LeaseLostError } from './lease.js';
export { watch, isFinal } from './watch.js';
export { PROTO_DIR, LOADER_OPTIONS, loadPackage } from './protos.js';
