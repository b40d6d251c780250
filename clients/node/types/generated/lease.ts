import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from './google/protobuf/Duration';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from './google/protobuf/Timestamp';
import type { Lease as _ibbroker_v1_Lease, Lease__Output as _ibbroker_v1_Lease__Output } from './ibbroker/v1/Lease';
import type { LeaseEvent as _ibbroker_v1_LeaseEvent, LeaseEvent__Output as _ibbroker_v1_LeaseEvent__Output } from './ibbroker/v1/LeaseEvent';

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
      Lease: MessageTypeDefinition<_ibbroker_v1_Lease, _ibbroker_v1_Lease__Output>
      LeaseEvent: MessageTypeDefinition<_ibbroker_v1_LeaseEvent, _ibbroker_v1_LeaseEvent__Output>
      LeaseEventKind: EnumTypeDefinition
      LeaseMode: EnumTypeDefinition
      LeaseState: EnumTypeDefinition
    }
  }
}

