// Original file: ibbroker/v1/errors.proto

/**
 * ErrorReason is the machine-readable cause carried in `google.rpc.ErrorInfo.reason` (domain
 * `ibbroker.v1`) of every error the broker returns. ErrorInfo carries the name without the
 * `ERROR_REASON_` prefix, for example `BREAKER_OPEN`.
 */
export const ErrorReason = {
  /**
   * Not set; never sent.
   */
  ERROR_REASON_UNSPECIFIED: 'ERROR_REASON_UNSPECIFIED',
  /**
   * A request field is malformed or out of range; see the BadRequest field violations.
   */
  ERROR_REASON_INVALID_ARGUMENT: 'ERROR_REASON_INVALID_ARGUMENT',
  /**
   * The named gateway is not configured.
   */
  ERROR_REASON_GATEWAY_UNKNOWN: 'ERROR_REASON_GATEWAY_UNKNOWN',
  /**
   * The gateway's circuit breaker is open: fail fast, retry after RetryInfo.
   */
  ERROR_REASON_BREAKER_OPEN: 'ERROR_REASON_BREAKER_OPEN',
  /**
   * The session is reconnecting: retry the same call after RetryInfo.
   */
  ERROR_REASON_RECONNECTING: 'ERROR_REASON_RECONNECTING',
  /**
   * The gateway is not connected and is not trying to (state ERROR or DISCONNECTED).
   */
  ERROR_REASON_NOT_CONNECTED: 'ERROR_REASON_NOT_CONNECTED',
  /**
   * TWS lost its connection to IB's servers (error 1100): order traffic is blocked.
   */
  ERROR_REASON_IB_LINK_LOST: 'ERROR_REASON_IB_LINK_LOST',
  /**
   * Every client ID in the gateway's range is leased or quarantined.
   */
  ERROR_REASON_CLIENT_ID_EXHAUSTED: 'ERROR_REASON_CLIENT_ID_EXHAUSTED',
  /**
   * No lease with that ID exists.
   */
  ERROR_REASON_LEASE_NOT_FOUND: 'ERROR_REASON_LEASE_NOT_FOUND',
  /**
   * The lease has expired.
   */
  ERROR_REASON_LEASE_EXPIRED: 'ERROR_REASON_LEASE_EXPIRED',
  /**
   * The lease has been released.
   */
  ERROR_REASON_LEASE_RELEASED: 'ERROR_REASON_LEASE_RELEASED',
  /**
   * The epoch in the request is not the lease's current epoch (fencing).
   */
  ERROR_REASON_LEASE_STALE_EPOCH: 'ERROR_REASON_LEASE_STALE_EPOCH',
  /**
   * The caller does not own the lease.
   */
  ERROR_REASON_LEASE_NOT_OWNER: 'ERROR_REASON_LEASE_NOT_OWNER',
  /**
   * TWS answered error 326: the client ID is in use by another API client.
   */
  ERROR_REASON_CLIENT_ID_IN_USE: 'ERROR_REASON_CLIENT_ID_IN_USE',
  /**
   * The gateway refused the TCP connection.
   */
  ERROR_REASON_CONNECTION_REFUSED: 'ERROR_REASON_CONNECTION_REFUSED',
  /**
   * The TWS API handshake did not complete in time.
   */
  ERROR_REASON_HANDSHAKE_TIMEOUT: 'ERROR_REASON_HANDSHAKE_TIMEOUT',
  /**
   * The gateway's server version is below the supported minimum.
   */
  ERROR_REASON_SERVER_VERSION_TOO_OLD: 'ERROR_REASON_SERVER_VERSION_TOO_OLD',
  /**
   * The start-up synchronisation (positions, orders, account) did not complete in time.
   */
  ERROR_REASON_SYNC_TIMEOUT: 'ERROR_REASON_SYNC_TIMEOUT',
  /**
   * The managed accounts do not match `paper_trading` (paper accounts start with DU).
   */
  ERROR_REASON_ACCOUNT_MISMATCH: 'ERROR_REASON_ACCOUNT_MISMATCH',
  /**
   * The broker is shutting down.
   */
  ERROR_REASON_SHUTTING_DOWN: 'ERROR_REASON_SHUTTING_DOWN',
  /**
   * The heartbeat went unanswered: the session was declared stale.
   */
  ERROR_REASON_HEARTBEAT_TIMEOUT: 'ERROR_REASON_HEARTBEAT_TIMEOUT',
  /**
   * IB pacing limits would be exceeded.
   */
  ERROR_REASON_PACING: 'ERROR_REASON_PACING',
  /**
   * A request with this idempotency key was already made with other parameters.
   */
  ERROR_REASON_IDEMPOTENCY_CONFLICT: 'ERROR_REASON_IDEMPOTENCY_CONFLICT',
  /**
   * An admin RPC was called without the configured admin bearer token.
   */
  ERROR_REASON_ADMIN_TOKEN_REQUIRED: 'ERROR_REASON_ADMIN_TOKEN_REQUIRED',
  /**
   * The durable store could not write (disk full, I/O error): retry after RetryInfo.
   */
  ERROR_REASON_STORE_UNAVAILABLE: 'ERROR_REASON_STORE_UNAVAILABLE',
  /**
   * The gateway's session gave up (retries exhausted, supervisor stopped): no retry of the
   * call helps until an operator acts (ConnectionService.Reconnect, or fixing the gateway).
   */
  ERROR_REASON_OPERATOR_ACTION_REQUIRED: 'ERROR_REASON_OPERATOR_ACTION_REQUIRED',
  /**
   * A lease was refused because the gateway's managed accounts do not match its configuration
   * (paper vs live, or the configured account is missing): a strategy would trade an account the
   * broker's config does not allow. Operator action needed; retrying does not help.
   */
  ERROR_REASON_LEASE_ACCOUNT_MISMATCH: 'ERROR_REASON_LEASE_ACCOUNT_MISMATCH',
  /**
   * The caller's address has `server.max_streams_per_peer` streaming calls open already: close
   * some before opening more.
   */
  ERROR_REASON_PEER_STREAM_LIMIT: 'ERROR_REASON_PEER_STREAM_LIMIT',
  /**
   * No order with that idempotency key (and bracket role) exists for the caller, or IB does not
   * know the order (error 10147).
   */
  ERROR_REASON_ORDER_NOT_FOUND: 'ERROR_REASON_ORDER_NOT_FOUND',
  /**
   * The order was placed with another IB client ID, and only that client ID may modify or cancel
   * it: acquire a lease on that client ID (metadata `owning_client_id`).
   */
  ERROR_REASON_ORDER_OWNED_BY_OTHER_CLIENT_ID: 'ERROR_REASON_ORDER_OWNED_BY_OTHER_CLIENT_ID',
  /**
   * The contract resolves to nothing (IB error 200).
   */
  ERROR_REASON_CONTRACT_NOT_FOUND: 'ERROR_REASON_CONTRACT_NOT_FOUND',
  /**
   * The contract query matches several contracts; the message and metadata name the candidates.
   */
  ERROR_REASON_CONTRACT_AMBIGUOUS: 'ERROR_REASON_CONTRACT_AMBIGUOUS',
  /**
   * IB refused the request (for example error 201); the IB code and text are in the metadata.
   */
  ERROR_REASON_ORDER_REJECTED: 'ERROR_REASON_ORDER_REJECTED',
  /**
   * The order's outcome is not known yet (sent before a drop, a restart or a timeout) and is
   * being reconciled: retry the same call (PlaceOrder: with the same key) after RetryInfo.
   */
  ERROR_REASON_OUTCOME_UNKNOWN: 'ERROR_REASON_OUTCOME_UNKNOWN',
  /**
   * The order is finished (filled, cancelled or rejected) and cannot be modified or cancelled.
   */
  ERROR_REASON_ORDER_FINISHED: 'ERROR_REASON_ORDER_FINISHED',
  /**
   * Orders need a PROXIED lease; the lease given is DIRECT.
   */
  ERROR_REASON_LEASE_NOT_PROXIED: 'ERROR_REASON_LEASE_NOT_PROXIED',
  /**
   * No further order ID is available for the client ID (IB's order IDs are 32-bit).
   */
  ERROR_REASON_ORDER_IDS_EXHAUSTED: 'ERROR_REASON_ORDER_IDS_EXHAUSTED',
  /**
   * The gateway's market data line budget is used up (checked before IB would answer 101).
   */
  ERROR_REASON_MARKET_DATA_LINES_EXHAUSTED: 'ERROR_REASON_MARKET_DATA_LINES_EXHAUSTED',
  /**
   * A market data subscriber read too slowly for too long and was ended.
   */
  ERROR_REASON_SUBSCRIBER_TOO_SLOW: 'ERROR_REASON_SUBSCRIBER_TOO_SLOW',
  /**
   * IB has no market data permission for the instrument and type (IB 354, 10167, 10197).
   */
  ERROR_REASON_MARKET_DATA_NOT_PERMITTED: 'ERROR_REASON_MARKET_DATA_NOT_PERMITTED',
  /**
   * Security (60-69), see docs/security.md.
   * The call carried no credentials (no `authorization: Bearer` token, no client certificate).
   */
  ERROR_REASON_CREDENTIALS_MISSING: 'ERROR_REASON_CREDENTIALS_MISSING',
  /**
   * The credentials are not valid: unknown, garbled or revoked token, or an unknown identity.
   */
  ERROR_REASON_CREDENTIALS_INVALID: 'ERROR_REASON_CREDENTIALS_INVALID',
  /**
   * The token has expired: create a new one with `ibbroker token create`.
   */
  ERROR_REASON_CREDENTIALS_EXPIRED: 'ERROR_REASON_CREDENTIALS_EXPIRED',
  /**
   * The caller's identity lacks the scope this RPC needs (read, lease, trade or admin).
   */
  ERROR_REASON_SCOPE_DENIED: 'ERROR_REASON_SCOPE_DENIED',
  /**
   * The request names an owner outside the caller's identity (only admin may act for others).
   */
  ERROR_REASON_OWNER_NOT_CALLER: 'ERROR_REASON_OWNER_NOT_CALLER',
  /**
   * The caller's address is outside the listener's allow-list (auth.allow_cidrs).
   */
  ERROR_REASON_PEER_NOT_ALLOWED: 'ERROR_REASON_PEER_NOT_ALLOWED',
  /**
   * Too many failed authentication attempts from this address: retry after RetryInfo.
   */
  ERROR_REASON_AUTH_RATE_LIMITED: 'ERROR_REASON_AUTH_RATE_LIMITED',
  /**
   * The gateway accepted the TCP connection and closed it before answering the API handshake:
   * what TWS / IB Gateway do when the broker's IP is not in their Trusted IPs.
   */
  ERROR_REASON_GATEWAY_UNTRUSTED: 'ERROR_REASON_GATEWAY_UNTRUSTED',
  /**
   * The caller's identity is over one of its limits (auth.max_request_rate,
   * max_streams_per_identity, max_leases_per_identity; ErrorInfo metadata `limit`): retry after
   * RetryInfo.
   */
  ERROR_REASON_IDENTITY_LIMIT: 'ERROR_REASON_IDENTITY_LIMIT',
} as const;

/**
 * ErrorReason is the machine-readable cause carried in `google.rpc.ErrorInfo.reason` (domain
 * `ibbroker.v1`) of every error the broker returns. ErrorInfo carries the name without the
 * `ERROR_REASON_` prefix, for example `BREAKER_OPEN`.
 */
export type ErrorReason =
  /**
   * Not set; never sent.
   */
  | 'ERROR_REASON_UNSPECIFIED'
  | 0
  /**
   * A request field is malformed or out of range; see the BadRequest field violations.
   */
  | 'ERROR_REASON_INVALID_ARGUMENT'
  | 1
  /**
   * The named gateway is not configured.
   */
  | 'ERROR_REASON_GATEWAY_UNKNOWN'
  | 2
  /**
   * The gateway's circuit breaker is open: fail fast, retry after RetryInfo.
   */
  | 'ERROR_REASON_BREAKER_OPEN'
  | 3
  /**
   * The session is reconnecting: retry the same call after RetryInfo.
   */
  | 'ERROR_REASON_RECONNECTING'
  | 4
  /**
   * The gateway is not connected and is not trying to (state ERROR or DISCONNECTED).
   */
  | 'ERROR_REASON_NOT_CONNECTED'
  | 5
  /**
   * TWS lost its connection to IB's servers (error 1100): order traffic is blocked.
   */
  | 'ERROR_REASON_IB_LINK_LOST'
  | 6
  /**
   * Every client ID in the gateway's range is leased or quarantined.
   */
  | 'ERROR_REASON_CLIENT_ID_EXHAUSTED'
  | 7
  /**
   * No lease with that ID exists.
   */
  | 'ERROR_REASON_LEASE_NOT_FOUND'
  | 8
  /**
   * The lease has expired.
   */
  | 'ERROR_REASON_LEASE_EXPIRED'
  | 9
  /**
   * The lease has been released.
   */
  | 'ERROR_REASON_LEASE_RELEASED'
  | 10
  /**
   * The epoch in the request is not the lease's current epoch (fencing).
   */
  | 'ERROR_REASON_LEASE_STALE_EPOCH'
  | 11
  /**
   * The caller does not own the lease.
   */
  | 'ERROR_REASON_LEASE_NOT_OWNER'
  | 12
  /**
   * TWS answered error 326: the client ID is in use by another API client.
   */
  | 'ERROR_REASON_CLIENT_ID_IN_USE'
  | 13
  /**
   * The gateway refused the TCP connection.
   */
  | 'ERROR_REASON_CONNECTION_REFUSED'
  | 14
  /**
   * The TWS API handshake did not complete in time.
   */
  | 'ERROR_REASON_HANDSHAKE_TIMEOUT'
  | 15
  /**
   * The gateway's server version is below the supported minimum.
   */
  | 'ERROR_REASON_SERVER_VERSION_TOO_OLD'
  | 16
  /**
   * The start-up synchronisation (positions, orders, account) did not complete in time.
   */
  | 'ERROR_REASON_SYNC_TIMEOUT'
  | 17
  /**
   * The managed accounts do not match `paper_trading` (paper accounts start with DU).
   */
  | 'ERROR_REASON_ACCOUNT_MISMATCH'
  | 18
  /**
   * The broker is shutting down.
   */
  | 'ERROR_REASON_SHUTTING_DOWN'
  | 19
  /**
   * The heartbeat went unanswered: the session was declared stale.
   */
  | 'ERROR_REASON_HEARTBEAT_TIMEOUT'
  | 20
  /**
   * IB pacing limits would be exceeded.
   */
  | 'ERROR_REASON_PACING'
  | 21
  /**
   * A request with this idempotency key was already made with other parameters.
   */
  | 'ERROR_REASON_IDEMPOTENCY_CONFLICT'
  | 22
  /**
   * An admin RPC was called without the configured admin bearer token.
   */
  | 'ERROR_REASON_ADMIN_TOKEN_REQUIRED'
  | 23
  /**
   * The durable store could not write (disk full, I/O error): retry after RetryInfo.
   */
  | 'ERROR_REASON_STORE_UNAVAILABLE'
  | 24
  /**
   * The gateway's session gave up (retries exhausted, supervisor stopped): no retry of the
   * call helps until an operator acts (ConnectionService.Reconnect, or fixing the gateway).
   */
  | 'ERROR_REASON_OPERATOR_ACTION_REQUIRED'
  | 25
  /**
   * A lease was refused because the gateway's managed accounts do not match its configuration
   * (paper vs live, or the configured account is missing): a strategy would trade an account the
   * broker's config does not allow. Operator action needed; retrying does not help.
   */
  | 'ERROR_REASON_LEASE_ACCOUNT_MISMATCH'
  | 30
  /**
   * The caller's address has `server.max_streams_per_peer` streaming calls open already: close
   * some before opening more.
   */
  | 'ERROR_REASON_PEER_STREAM_LIMIT'
  | 31
  /**
   * No order with that idempotency key (and bracket role) exists for the caller, or IB does not
   * know the order (error 10147).
   */
  | 'ERROR_REASON_ORDER_NOT_FOUND'
  | 40
  /**
   * The order was placed with another IB client ID, and only that client ID may modify or cancel
   * it: acquire a lease on that client ID (metadata `owning_client_id`).
   */
  | 'ERROR_REASON_ORDER_OWNED_BY_OTHER_CLIENT_ID'
  | 41
  /**
   * The contract resolves to nothing (IB error 200).
   */
  | 'ERROR_REASON_CONTRACT_NOT_FOUND'
  | 42
  /**
   * The contract query matches several contracts; the message and metadata name the candidates.
   */
  | 'ERROR_REASON_CONTRACT_AMBIGUOUS'
  | 43
  /**
   * IB refused the request (for example error 201); the IB code and text are in the metadata.
   */
  | 'ERROR_REASON_ORDER_REJECTED'
  | 44
  /**
   * The order's outcome is not known yet (sent before a drop, a restart or a timeout) and is
   * being reconciled: retry the same call (PlaceOrder: with the same key) after RetryInfo.
   */
  | 'ERROR_REASON_OUTCOME_UNKNOWN'
  | 45
  /**
   * The order is finished (filled, cancelled or rejected) and cannot be modified or cancelled.
   */
  | 'ERROR_REASON_ORDER_FINISHED'
  | 46
  /**
   * Orders need a PROXIED lease; the lease given is DIRECT.
   */
  | 'ERROR_REASON_LEASE_NOT_PROXIED'
  | 47
  /**
   * No further order ID is available for the client ID (IB's order IDs are 32-bit).
   */
  | 'ERROR_REASON_ORDER_IDS_EXHAUSTED'
  | 48
  /**
   * The gateway's market data line budget is used up (checked before IB would answer 101).
   */
  | 'ERROR_REASON_MARKET_DATA_LINES_EXHAUSTED'
  | 49
  /**
   * A market data subscriber read too slowly for too long and was ended.
   */
  | 'ERROR_REASON_SUBSCRIBER_TOO_SLOW'
  | 50
  /**
   * IB has no market data permission for the instrument and type (IB 354, 10167, 10197).
   */
  | 'ERROR_REASON_MARKET_DATA_NOT_PERMITTED'
  | 51
  /**
   * Security (60-69), see docs/security.md.
   * The call carried no credentials (no `authorization: Bearer` token, no client certificate).
   */
  | 'ERROR_REASON_CREDENTIALS_MISSING'
  | 60
  /**
   * The credentials are not valid: unknown, garbled or revoked token, or an unknown identity.
   */
  | 'ERROR_REASON_CREDENTIALS_INVALID'
  | 61
  /**
   * The token has expired: create a new one with `ibbroker token create`.
   */
  | 'ERROR_REASON_CREDENTIALS_EXPIRED'
  | 62
  /**
   * The caller's identity lacks the scope this RPC needs (read, lease, trade or admin).
   */
  | 'ERROR_REASON_SCOPE_DENIED'
  | 63
  /**
   * The request names an owner outside the caller's identity (only admin may act for others).
   */
  | 'ERROR_REASON_OWNER_NOT_CALLER'
  | 64
  /**
   * The caller's address is outside the listener's allow-list (auth.allow_cidrs).
   */
  | 'ERROR_REASON_PEER_NOT_ALLOWED'
  | 65
  /**
   * Too many failed authentication attempts from this address: retry after RetryInfo.
   */
  | 'ERROR_REASON_AUTH_RATE_LIMITED'
  | 66
  /**
   * The gateway accepted the TCP connection and closed it before answering the API handshake:
   * what TWS / IB Gateway do when the broker's IP is not in their Trusted IPs.
   */
  | 'ERROR_REASON_GATEWAY_UNTRUSTED'
  | 67
  /**
   * The caller's identity is over one of its limits (auth.max_request_rate,
   * max_streams_per_identity, max_leases_per_identity; ErrorInfo metadata `limit`): retry after
   * RetryInfo.
   */
  | 'ERROR_REASON_IDENTITY_LIMIT'
  | 68

/**
 * ErrorReason is the machine-readable cause carried in `google.rpc.ErrorInfo.reason` (domain
 * `ibbroker.v1`) of every error the broker returns. ErrorInfo carries the name without the
 * `ERROR_REASON_` prefix, for example `BREAKER_OPEN`.
 */
export type ErrorReason__Output = typeof ErrorReason[keyof typeof ErrorReason]
