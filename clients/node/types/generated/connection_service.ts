import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from './google/protobuf/Duration';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from './google/protobuf/Timestamp';
import type { ConnectionEvent as _ibbroker_v1_ConnectionEvent, ConnectionEvent__Output as _ibbroker_v1_ConnectionEvent__Output } from './ibbroker/v1/ConnectionEvent';
import type { ConnectionServiceClient as _ibbroker_v1_ConnectionServiceClient, ConnectionServiceDefinition as _ibbroker_v1_ConnectionServiceDefinition } from './ibbroker/v1/ConnectionService';
import type { GatewayStatus as _ibbroker_v1_GatewayStatus, GatewayStatus__Output as _ibbroker_v1_GatewayStatus__Output } from './ibbroker/v1/GatewayStatus';
import type { GetConnectionStateRequest as _ibbroker_v1_GetConnectionStateRequest, GetConnectionStateRequest__Output as _ibbroker_v1_GetConnectionStateRequest__Output } from './ibbroker/v1/GetConnectionStateRequest';
import type { GetConnectionStateResponse as _ibbroker_v1_GetConnectionStateResponse, GetConnectionStateResponse__Output as _ibbroker_v1_GetConnectionStateResponse__Output } from './ibbroker/v1/GetConnectionStateResponse';
import type { GetHealthRequest as _ibbroker_v1_GetHealthRequest, GetHealthRequest__Output as _ibbroker_v1_GetHealthRequest__Output } from './ibbroker/v1/GetHealthRequest';
import type { GetHealthResponse as _ibbroker_v1_GetHealthResponse, GetHealthResponse__Output as _ibbroker_v1_GetHealthResponse__Output } from './ibbroker/v1/GetHealthResponse';
import type { HealthEvent as _ibbroker_v1_HealthEvent, HealthEvent__Output as _ibbroker_v1_HealthEvent__Output } from './ibbroker/v1/HealthEvent';
import type { HealthMetrics as _ibbroker_v1_HealthMetrics, HealthMetrics__Output as _ibbroker_v1_HealthMetrics__Output } from './ibbroker/v1/HealthMetrics';
import type { HealthReason as _ibbroker_v1_HealthReason, HealthReason__Output as _ibbroker_v1_HealthReason__Output } from './ibbroker/v1/HealthReason';
import type { ListSessionsRequest as _ibbroker_v1_ListSessionsRequest, ListSessionsRequest__Output as _ibbroker_v1_ListSessionsRequest__Output } from './ibbroker/v1/ListSessionsRequest';
import type { ListSessionsResponse as _ibbroker_v1_ListSessionsResponse, ListSessionsResponse__Output as _ibbroker_v1_ListSessionsResponse__Output } from './ibbroker/v1/ListSessionsResponse';
import type { ReconnectRequest as _ibbroker_v1_ReconnectRequest, ReconnectRequest__Output as _ibbroker_v1_ReconnectRequest__Output } from './ibbroker/v1/ReconnectRequest';
import type { ReconnectResponse as _ibbroker_v1_ReconnectResponse, ReconnectResponse__Output as _ibbroker_v1_ReconnectResponse__Output } from './ibbroker/v1/ReconnectResponse';
import type { RestoredSummary as _ibbroker_v1_RestoredSummary, RestoredSummary__Output as _ibbroker_v1_RestoredSummary__Output } from './ibbroker/v1/RestoredSummary';
import type { SessionInfo as _ibbroker_v1_SessionInfo, SessionInfo__Output as _ibbroker_v1_SessionInfo__Output } from './ibbroker/v1/SessionInfo';
import type { WatchConnectionStateRequest as _ibbroker_v1_WatchConnectionStateRequest, WatchConnectionStateRequest__Output as _ibbroker_v1_WatchConnectionStateRequest__Output } from './ibbroker/v1/WatchConnectionStateRequest';
import type { WatchConnectionStateResponse as _ibbroker_v1_WatchConnectionStateResponse, WatchConnectionStateResponse__Output as _ibbroker_v1_WatchConnectionStateResponse__Output } from './ibbroker/v1/WatchConnectionStateResponse';
import type { WatchHealthRequest as _ibbroker_v1_WatchHealthRequest, WatchHealthRequest__Output as _ibbroker_v1_WatchHealthRequest__Output } from './ibbroker/v1/WatchHealthRequest';
import type { WatchHealthResponse as _ibbroker_v1_WatchHealthResponse, WatchHealthResponse__Output as _ibbroker_v1_WatchHealthResponse__Output } from './ibbroker/v1/WatchHealthResponse';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  google: {
    protobuf: {
      Duration: MessageTypeDefinition<_google_protobuf_Duration, _google_protobuf_Duration__Output>
      Timestamp: MessageTypeDefinition<_google_protobuf_Timestamp, _google_protobuf_Timestamp__Output>
    }
  }
  ibbroker: {
    v1: {
      BreakerState: EnumTypeDefinition
      ConnectionEvent: MessageTypeDefinition<_ibbroker_v1_ConnectionEvent, _ibbroker_v1_ConnectionEvent__Output>
      /**
       * ConnectionService reports and manages the broker's IB sessions: state, health, metrics.
       */
      ConnectionService: SubtypeConstructor<typeof grpc.Client, _ibbroker_v1_ConnectionServiceClient> & { service: _ibbroker_v1_ConnectionServiceDefinition }
      ConnectionState: EnumTypeDefinition
      EventKind: EnumTypeDefinition
      GatewayStatus: MessageTypeDefinition<_ibbroker_v1_GatewayStatus, _ibbroker_v1_GatewayStatus__Output>
      GetConnectionStateRequest: MessageTypeDefinition<_ibbroker_v1_GetConnectionStateRequest, _ibbroker_v1_GetConnectionStateRequest__Output>
      GetConnectionStateResponse: MessageTypeDefinition<_ibbroker_v1_GetConnectionStateResponse, _ibbroker_v1_GetConnectionStateResponse__Output>
      GetHealthRequest: MessageTypeDefinition<_ibbroker_v1_GetHealthRequest, _ibbroker_v1_GetHealthRequest__Output>
      GetHealthResponse: MessageTypeDefinition<_ibbroker_v1_GetHealthResponse, _ibbroker_v1_GetHealthResponse__Output>
      HealthEvent: MessageTypeDefinition<_ibbroker_v1_HealthEvent, _ibbroker_v1_HealthEvent__Output>
      HealthMetrics: MessageTypeDefinition<_ibbroker_v1_HealthMetrics, _ibbroker_v1_HealthMetrics__Output>
      HealthReason: MessageTypeDefinition<_ibbroker_v1_HealthReason, _ibbroker_v1_HealthReason__Output>
      HealthStatus: EnumTypeDefinition
      ListSessionsRequest: MessageTypeDefinition<_ibbroker_v1_ListSessionsRequest, _ibbroker_v1_ListSessionsRequest__Output>
      ListSessionsResponse: MessageTypeDefinition<_ibbroker_v1_ListSessionsResponse, _ibbroker_v1_ListSessionsResponse__Output>
      ReconnectRequest: MessageTypeDefinition<_ibbroker_v1_ReconnectRequest, _ibbroker_v1_ReconnectRequest__Output>
      ReconnectResponse: MessageTypeDefinition<_ibbroker_v1_ReconnectResponse, _ibbroker_v1_ReconnectResponse__Output>
      RestoredSummary: MessageTypeDefinition<_ibbroker_v1_RestoredSummary, _ibbroker_v1_RestoredSummary__Output>
      SessionInfo: MessageTypeDefinition<_ibbroker_v1_SessionInfo, _ibbroker_v1_SessionInfo__Output>
      SessionRole: EnumTypeDefinition
      WatchConnectionStateRequest: MessageTypeDefinition<_ibbroker_v1_WatchConnectionStateRequest, _ibbroker_v1_WatchConnectionStateRequest__Output>
      WatchConnectionStateResponse: MessageTypeDefinition<_ibbroker_v1_WatchConnectionStateResponse, _ibbroker_v1_WatchConnectionStateResponse__Output>
      WatchHealthRequest: MessageTypeDefinition<_ibbroker_v1_WatchHealthRequest, _ibbroker_v1_WatchHealthRequest__Output>
      WatchHealthResponse: MessageTypeDefinition<_ibbroker_v1_WatchHealthResponse, _ibbroker_v1_WatchHealthResponse__Output>
    }
  }
}

