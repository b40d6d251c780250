import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from './google/protobuf/Duration';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from './google/protobuf/Timestamp';
import type { ConnectionEvent as _ibbroker_v1_ConnectionEvent, ConnectionEvent__Output as _ibbroker_v1_ConnectionEvent__Output } from './ibbroker/v1/ConnectionEvent';
import type { GatewayStatus as _ibbroker_v1_GatewayStatus, GatewayStatus__Output as _ibbroker_v1_GatewayStatus__Output } from './ibbroker/v1/GatewayStatus';
import type { HealthEvent as _ibbroker_v1_HealthEvent, HealthEvent__Output as _ibbroker_v1_HealthEvent__Output } from './ibbroker/v1/HealthEvent';
import type { HealthMetrics as _ibbroker_v1_HealthMetrics, HealthMetrics__Output as _ibbroker_v1_HealthMetrics__Output } from './ibbroker/v1/HealthMetrics';
import type { HealthReason as _ibbroker_v1_HealthReason, HealthReason__Output as _ibbroker_v1_HealthReason__Output } from './ibbroker/v1/HealthReason';
import type { RestoredSummary as _ibbroker_v1_RestoredSummary, RestoredSummary__Output as _ibbroker_v1_RestoredSummary__Output } from './ibbroker/v1/RestoredSummary';
import type { SessionInfo as _ibbroker_v1_SessionInfo, SessionInfo__Output as _ibbroker_v1_SessionInfo__Output } from './ibbroker/v1/SessionInfo';

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
      ConnectionState: EnumTypeDefinition
      EventKind: EnumTypeDefinition
      GatewayStatus: MessageTypeDefinition<_ibbroker_v1_GatewayStatus, _ibbroker_v1_GatewayStatus__Output>
      HealthEvent: MessageTypeDefinition<_ibbroker_v1_HealthEvent, _ibbroker_v1_HealthEvent__Output>
      HealthMetrics: MessageTypeDefinition<_ibbroker_v1_HealthMetrics, _ibbroker_v1_HealthMetrics__Output>
      HealthReason: MessageTypeDefinition<_ibbroker_v1_HealthReason, _ibbroker_v1_HealthReason__Output>
      HealthStatus: EnumTypeDefinition
      RestoredSummary: MessageTypeDefinition<_ibbroker_v1_RestoredSummary, _ibbroker_v1_RestoredSummary__Output>
      SessionInfo: MessageTypeDefinition<_ibbroker_v1_SessionInfo, _ibbroker_v1_SessionInfo__Output>
      SessionRole: EnumTypeDefinition
    }
  }
}

