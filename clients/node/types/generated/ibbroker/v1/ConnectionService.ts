// Original file: ibbroker/v1/connection_service.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { GetConnectionStateRequest as _ibbroker_v1_GetConnectionStateRequest, GetConnectionStateRequest__Output as _ibbroker_v1_GetConnectionStateRequest__Output } from '../../ibbroker/v1/GetConnectionStateRequest';
import type { GetConnectionStateResponse as _ibbroker_v1_GetConnectionStateResponse, GetConnectionStateResponse__Output as _ibbroker_v1_GetConnectionStateResponse__Output } from '../../ibbroker/v1/GetConnectionStateResponse';
import type { GetHealthRequest as _ibbroker_v1_GetHealthRequest, GetHealthRequest__Output as _ibbroker_v1_GetHealthRequest__Output } from '../../ibbroker/v1/GetHealthRequest';
import type { GetHealthResponse as _ibbroker_v1_GetHealthResponse, GetHealthResponse__Output as _ibbroker_v1_GetHealthResponse__Output } from '../../ibbroker/v1/GetHealthResponse';
import type { ListSessionsRequest as _ibbroker_v1_ListSessionsRequest, ListSessionsRequest__Output as _ibbroker_v1_ListSessionsRequest__Output } from '../../ibbroker/v1/ListSessionsRequest';
import type { ListSessionsResponse as _ibbroker_v1_ListSessionsResponse, ListSessionsResponse__Output as _ibbroker_v1_ListSessionsResponse__Output } from '../../ibbroker/v1/ListSessionsResponse';
import type { ReconnectRequest as _ibbroker_v1_ReconnectRequest, ReconnectRequest__Output as _ibbroker_v1_ReconnectRequest__Output } from '../../ibbroker/v1/ReconnectRequest';
import type { ReconnectResponse as _ibbroker_v1_ReconnectResponse, ReconnectResponse__Output as _ibbroker_v1_ReconnectResponse__Output } from '../../ibbroker/v1/ReconnectResponse';
import type { WatchConnectionStateRequest as _ibbroker_v1_WatchConnectionStateRequest, WatchConnectionStateRequest__Output as _ibbroker_v1_WatchConnectionStateRequest__Output } from '../../ibbroker/v1/WatchConnectionStateRequest';
import type { WatchConnectionStateResponse as _ibbroker_v1_WatchConnectionStateResponse, WatchConnectionStateResponse__Output as _ibbroker_v1_WatchConnectionStateResponse__Output } from '../../ibbroker/v1/WatchConnectionStateResponse';
import type { WatchHealthRequest as _ibbroker_v1_WatchHealthRequest, WatchHealthRequest__Output as _ibbroker_v1_WatchHealthRequest__Output } from '../../ibbroker/v1/WatchHealthRequest';
import type { WatchHealthResponse as _ibbroker_v1_WatchHealthResponse, WatchHealthResponse__Output as _ibbroker_v1_WatchHealthResponse__Output } from '../../ibbroker/v1/WatchHealthResponse';

/**
 * ConnectionService reports and manages the broker's IB sessions: state, health, metrics.
 */
export interface ConnectionServiceClient extends grpc.Client {
  /**
   * GetConnectionState returns the state of every gateway (or one).
   */
  GetConnectionState(argument: _ibbroker_v1_GetConnectionStateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetConnectionStateResponse__Output>): grpc.ClientUnaryCall;
  GetConnectionState(argument: _ibbroker_v1_GetConnectionStateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_GetConnectionStateResponse__Output>): grpc.ClientUnaryCall;
  GetConnectionState(argument: _ibbroker_v1_GetConnectionStateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetConnectionStateResponse__Output>): grpc.ClientUnaryCall;
  GetConnectionState(argument: _ibbroker_v1_GetConnectionStateRequest, callback: grpc.requestCallback<_ibbroker_v1_GetConnectionStateResponse__Output>): grpc.ClientUnaryCall;
  /**
   * GetConnectionState returns the state of every gateway (or one).
   */
  getConnectionState(argument: _ibbroker_v1_GetConnectionStateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetConnectionStateResponse__Output>): grpc.ClientUnaryCall;
  getConnectionState(argument: _ibbroker_v1_GetConnectionStateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_GetConnectionStateResponse__Output>): grpc.ClientUnaryCall;
  getConnectionState(argument: _ibbroker_v1_GetConnectionStateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetConnectionStateResponse__Output>): grpc.ClientUnaryCall;
  getConnectionState(argument: _ibbroker_v1_GetConnectionStateRequest, callback: grpc.requestCallback<_ibbroker_v1_GetConnectionStateResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * GetHealth returns health and metrics of every gateway (or one).
   */
  GetHealth(argument: _ibbroker_v1_GetHealthRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetHealthResponse__Output>): grpc.ClientUnaryCall;
  GetHealth(argument: _ibbroker_v1_GetHealthRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_GetHealthResponse__Output>): grpc.ClientUnaryCall;
  GetHealth(argument: _ibbroker_v1_GetHealthRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetHealthResponse__Output>): grpc.ClientUnaryCall;
  GetHealth(argument: _ibbroker_v1_GetHealthRequest, callback: grpc.requestCallback<_ibbroker_v1_GetHealthResponse__Output>): grpc.ClientUnaryCall;
  /**
   * GetHealth returns health and metrics of every gateway (or one).
   */
  getHealth(argument: _ibbroker_v1_GetHealthRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetHealthResponse__Output>): grpc.ClientUnaryCall;
  getHealth(argument: _ibbroker_v1_GetHealthRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_GetHealthResponse__Output>): grpc.ClientUnaryCall;
  getHealth(argument: _ibbroker_v1_GetHealthRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetHealthResponse__Output>): grpc.ClientUnaryCall;
  getHealth(argument: _ibbroker_v1_GetHealthRequest, callback: grpc.requestCallback<_ibbroker_v1_GetHealthResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * ListSessions lists the sessions of the pool.
   */
  ListSessions(argument: _ibbroker_v1_ListSessionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  ListSessions(argument: _ibbroker_v1_ListSessionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  ListSessions(argument: _ibbroker_v1_ListSessionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  ListSessions(argument: _ibbroker_v1_ListSessionsRequest, callback: grpc.requestCallback<_ibbroker_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * ListSessions lists the sessions of the pool.
   */
  listSessions(argument: _ibbroker_v1_ListSessionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  listSessions(argument: _ibbroker_v1_ListSessionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  listSessions(argument: _ibbroker_v1_ListSessionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  listSessions(argument: _ibbroker_v1_ListSessionsRequest, callback: grpc.requestCallback<_ibbroker_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Reconnect drops and reconnects the sessions of a gateway (admin).
   */
  Reconnect(argument: _ibbroker_v1_ReconnectRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ReconnectResponse__Output>): grpc.ClientUnaryCall;
  Reconnect(argument: _ibbroker_v1_ReconnectRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_ReconnectResponse__Output>): grpc.ClientUnaryCall;
  Reconnect(argument: _ibbroker_v1_ReconnectRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ReconnectResponse__Output>): grpc.ClientUnaryCall;
  Reconnect(argument: _ibbroker_v1_ReconnectRequest, callback: grpc.requestCallback<_ibbroker_v1_ReconnectResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Reconnect drops and reconnects the sessions of a gateway (admin).
   */
  reconnect(argument: _ibbroker_v1_ReconnectRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ReconnectResponse__Output>): grpc.ClientUnaryCall;
  reconnect(argument: _ibbroker_v1_ReconnectRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_ReconnectResponse__Output>): grpc.ClientUnaryCall;
  reconnect(argument: _ibbroker_v1_ReconnectRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ReconnectResponse__Output>): grpc.ClientUnaryCall;
  reconnect(argument: _ibbroker_v1_ReconnectRequest, callback: grpc.requestCallback<_ibbroker_v1_ReconnectResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * WatchConnectionState streams one snapshot event per session, then every change.
   */
  WatchConnectionState(argument: _ibbroker_v1_WatchConnectionStateRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ibbroker_v1_WatchConnectionStateResponse__Output>;
  WatchConnectionState(argument: _ibbroker_v1_WatchConnectionStateRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ibbroker_v1_WatchConnectionStateResponse__Output>;
  /**
   * WatchConnectionState streams one snapshot event per session, then every change.
   */
  watchConnectionState(argument: _ibbroker_v1_WatchConnectionStateRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ibbroker_v1_WatchConnectionStateResponse__Output>;
  watchConnectionState(argument: _ibbroker_v1_WatchConnectionStateRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ibbroker_v1_WatchConnectionStateResponse__Output>;
  
  /**
   * WatchHealth streams one snapshot event per session, then every health change.
   */
  WatchHealth(argument: _ibbroker_v1_WatchHealthRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ibbroker_v1_WatchHealthResponse__Output>;
  WatchHealth(argument: _ibbroker_v1_WatchHealthRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ibbroker_v1_WatchHealthResponse__Output>;
  /**
   * WatchHealth streams one snapshot event per session, then every health change.
   */
  watchHealth(argument: _ibbroker_v1_WatchHealthRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ibbroker_v1_WatchHealthResponse__Output>;
  watchHealth(argument: _ibbroker_v1_WatchHealthRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ibbroker_v1_WatchHealthResponse__Output>;
  
}

/**
 * ConnectionService reports and manages the broker's IB sessions: state, health, metrics.
 */
export interface ConnectionServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * GetConnectionState returns the state of every gateway (or one).
   */
  GetConnectionState: grpc.handleUnaryCall<_ibbroker_v1_GetConnectionStateRequest__Output, _ibbroker_v1_GetConnectionStateResponse>;
  
  /**
   * GetHealth returns health and metrics of every gateway (or one).
   */
  GetHealth: grpc.handleUnaryCall<_ibbroker_v1_GetHealthRequest__Output, _ibbroker_v1_GetHealthResponse>;
  
  /**
   * ListSessions lists the sessions of the pool.
   */
  ListSessions: grpc.handleUnaryCall<_ibbroker_v1_ListSessionsRequest__Output, _ibbroker_v1_ListSessionsResponse>;
  
  /**
   * Reconnect drops and reconnects the sessions of a gateway (admin).
   */
  Reconnect: grpc.handleUnaryCall<_ibbroker_v1_ReconnectRequest__Output, _ibbroker_v1_ReconnectResponse>;
  
  /**
   * WatchConnectionState streams one snapshot event per session, then every change.
   */
  WatchConnectionState: grpc.handleServerStreamingCall<_ibbroker_v1_WatchConnectionStateRequest__Output, _ibbroker_v1_WatchConnectionStateResponse>;
  
  /**
   * WatchHealth streams one snapshot event per session, then every health change.
   */
  WatchHealth: grpc.handleServerStreamingCall<_ibbroker_v1_WatchHealthRequest__Output, _ibbroker_v1_WatchHealthResponse>;
  
}

export interface ConnectionServiceDefinition extends grpc.ServiceDefinition {
  GetConnectionState: MethodDefinition<_ibbroker_v1_GetConnectionStateRequest, _ibbroker_v1_GetConnectionStateResponse, _ibbroker_v1_GetConnectionStateRequest__Output, _ibbroker_v1_GetConnectionStateResponse__Output>
  GetHealth: MethodDefinition<_ibbroker_v1_GetHealthRequest, _ibbroker_v1_GetHealthResponse, _ibbroker_v1_GetHealthRequest__Output, _ibbroker_v1_GetHealthResponse__Output>
  ListSessions: MethodDefinition<_ibbroker_v1_ListSessionsRequest, _ibbroker_v1_ListSessionsResponse, _ibbroker_v1_ListSessionsRequest__Output, _ibbroker_v1_ListSessionsResponse__Output>
  Reconnect: MethodDefinition<_ibbroker_v1_ReconnectRequest, _ibbroker_v1_ReconnectResponse, _ibbroker_v1_ReconnectRequest__Output, _ibbroker_v1_ReconnectResponse__Output>
  WatchConnectionState: MethodDefinition<_ibbroker_v1_WatchConnectionStateRequest, _ibbroker_v1_WatchConnectionStateResponse, _ibbroker_v1_WatchConnectionStateRequest__Output, _ibbroker_v1_WatchConnectionStateResponse__Output>
  WatchHealth: MethodDefinition<_ibbroker_v1_WatchHealthRequest, _ibbroker_v1_WatchHealthResponse, _ibbroker_v1_WatchHealthRequest__Output, _ibbroker_v1_WatchHealthResponse__Output>
}
