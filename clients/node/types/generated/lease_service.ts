import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from './google/protobuf/Duration';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from './google/protobuf/Timestamp';
import type { AcquireLeaseRequest as _ibbroker_v1_AcquireLeaseRequest, AcquireLeaseRequest__Output as _ibbroker_v1_AcquireLeaseRequest__Output } from './ibbroker/v1/AcquireLeaseRequest';
import type { AcquireLeaseResponse as _ibbroker_v1_AcquireLeaseResponse, AcquireLeaseResponse__Output as _ibbroker_v1_AcquireLeaseResponse__Output } from './ibbroker/v1/AcquireLeaseResponse';
import type { GetLeaseRequest as _ibbroker_v1_GetLeaseRequest, GetLeaseRequest__Output as _ibbroker_v1_GetLeaseRequest__Output } from './ibbroker/v1/GetLeaseRequest';
import type { GetLeaseResponse as _ibbroker_v1_GetLeaseResponse, GetLeaseResponse__Output as _ibbroker_v1_GetLeaseResponse__Output } from './ibbroker/v1/GetLeaseResponse';
import type { Lease as _ibbroker_v1_Lease, Lease__Output as _ibbroker_v1_Lease__Output } from './ibbroker/v1/Lease';
import type { LeaseEvent as _ibbroker_v1_LeaseEvent, LeaseEvent__Output as _ibbroker_v1_LeaseEvent__Output } from './ibbroker/v1/LeaseEvent';
import type { LeaseServiceClient as _ibbroker_v1_LeaseServiceClient, LeaseServiceDefinition as _ibbroker_v1_LeaseServiceDefinition } from './ibbroker/v1/LeaseService';
import type { ListLeasesRequest as _ibbroker_v1_ListLeasesRequest, ListLeasesRequest__Output as _ibbroker_v1_ListLeasesRequest__Output } from './ibbroker/v1/ListLeasesRequest';
import type { ListLeasesResponse as _ibbroker_v1_ListLeasesResponse, ListLeasesResponse__Output as _ibbroker_v1_ListLeasesResponse__Output } from './ibbroker/v1/ListLeasesResponse';
import type { ReleaseLeaseRequest as _ibbroker_v1_ReleaseLeaseRequest, ReleaseLeaseRequest__Output as _ibbroker_v1_ReleaseLeaseRequest__Output } from './ibbroker/v1/ReleaseLeaseRequest';
import type { ReleaseLeaseResponse as _ibbroker_v1_ReleaseLeaseResponse, ReleaseLeaseResponse__Output as _ibbroker_v1_ReleaseLeaseResponse__Output } from './ibbroker/v1/ReleaseLeaseResponse';
import type { RenewLeaseRequest as _ibbroker_v1_RenewLeaseRequest, RenewLeaseRequest__Output as _ibbroker_v1_RenewLeaseRequest__Output } from './ibbroker/v1/RenewLeaseRequest';
import type { RenewLeaseResponse as _ibbroker_v1_RenewLeaseResponse, RenewLeaseResponse__Output as _ibbroker_v1_RenewLeaseResponse__Output } from './ibbroker/v1/RenewLeaseResponse';
import type { WatchLeasesRequest as _ibbroker_v1_WatchLeasesRequest, WatchLeasesRequest__Output as _ibbroker_v1_WatchLeasesRequest__Output } from './ibbroker/v1/WatchLeasesRequest';
import type { WatchLeasesResponse as _ibbroker_v1_WatchLeasesResponse, WatchLeasesResponse__Output as _ibbroker_v1_WatchLeasesResponse__Output } from './ibbroker/v1/WatchLeasesResponse';

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
      AcquireLeaseRequest: MessageTypeDefinition<_ibbroker_v1_AcquireLeaseRequest, _ibbroker_v1_AcquireLeaseRequest__Output>
      AcquireLeaseResponse: MessageTypeDefinition<_ibbroker_v1_AcquireLeaseResponse, _ibbroker_v1_AcquireLeaseResponse__Output>
      GetLeaseRequest: MessageTypeDefinition<_ibbroker_v1_GetLeaseRequest, _ibbroker_v1_GetLeaseRequest__Output>
      GetLeaseResponse: MessageTypeDefinition<_ibbroker_v1_GetLeaseResponse, _ibbroker_v1_GetLeaseResponse__Output>
      Lease: MessageTypeDefinition<_ibbroker_v1_Lease, _ibbroker_v1_Lease__Output>
      LeaseEvent: MessageTypeDefinition<_ibbroker_v1_LeaseEvent, _ibbroker_v1_LeaseEvent__Output>
      LeaseEventKind: EnumTypeDefinition
      LeaseMode: EnumTypeDefinition
      /**
       * LeaseService allocates IB API client IDs: the broker is the single allocator, so strategies
       * never collide (IB error 326) nor leave an ID stuck after a crash.
       */
      LeaseService: SubtypeConstructor<typeof grpc.Client, _ibbroker_v1_LeaseServiceClient> & { service: _ibbroker_v1_LeaseServiceDefinition }
      LeaseState: EnumTypeDefinition
      ListLeasesRequest: MessageTypeDefinition<_ibbroker_v1_ListLeasesRequest, _ibbroker_v1_ListLeasesRequest__Output>
      ListLeasesResponse: MessageTypeDefinition<_ibbroker_v1_ListLeasesResponse, _ibbroker_v1_ListLeasesResponse__Output>
      ReleaseLeaseRequest: MessageTypeDefinition<_ibbroker_v1_ReleaseLeaseRequest, _ibbroker_v1_ReleaseLeaseRequest__Output>
      ReleaseLeaseResponse: MessageTypeDefinition<_ibbroker_v1_ReleaseLeaseResponse, _ibbroker_v1_ReleaseLeaseResponse__Output>
      RenewLeaseRequest: MessageTypeDefinition<_ibbroker_v1_RenewLeaseRequest, _ibbroker_v1_RenewLeaseRequest__Output>
      RenewLeaseResponse: MessageTypeDefinition<_ibbroker_v1_RenewLeaseResponse, _ibbroker_v1_RenewLeaseResponse__Output>
      WatchLeasesRequest: MessageTypeDefinition<_ibbroker_v1_WatchLeasesRequest, _ibbroker_v1_WatchLeasesRequest__Output>
      WatchLeasesResponse: MessageTypeDefinition<_ibbroker_v1_WatchLeasesResponse, _ibbroker_v1_WatchLeasesResponse__Output>
    }
  }
}

