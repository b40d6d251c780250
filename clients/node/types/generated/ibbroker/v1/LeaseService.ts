// Original file: ibbroker/v1/lease_service.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AcquireLeaseRequest as _ibbroker_v1_AcquireLeaseRequest, AcquireLeaseRequest__Output as _ibbroker_v1_AcquireLeaseRequest__Output } from '../../ibbroker/v1/AcquireLeaseRequest';
import type { AcquireLeaseResponse as _ibbroker_v1_AcquireLeaseResponse, AcquireLeaseResponse__Output as _ibbroker_v1_AcquireLeaseResponse__Output } from '../../ibbroker/v1/AcquireLeaseResponse';
import type { GetLeaseRequest as _ibbroker_v1_GetLeaseRequest, GetLeaseRequest__Output as _ibbroker_v1_GetLeaseRequest__Output } from '../../ibbroker/v1/GetLeaseRequest';
import type { GetLeaseResponse as _ibbroker_v1_GetLeaseResponse, GetLeaseResponse__Output as _ibbroker_v1_GetLeaseResponse__Output } from '../../ibbroker/v1/GetLeaseResponse';
import type { ListLeasesRequest as _ibbroker_v1_ListLeasesRequest, ListLeasesRequest__Output as _ibbroker_v1_ListLeasesRequest__Output } from '../../ibbroker/v1/ListLeasesRequest';
import type { ListLeasesResponse as _ibbroker_v1_ListLeasesResponse, ListLeasesResponse__Output as _ibbroker_v1_ListLeasesResponse__Output } from '../../ibbroker/v1/ListLeasesResponse';
import type { ReleaseLeaseRequest as _ibbroker_v1_ReleaseLeaseRequest, ReleaseLeaseRequest__Output as _ibbroker_v1_ReleaseLeaseRequest__Output } from '../../ibbroker/v1/ReleaseLeaseRequest';
import type { ReleaseLeaseResponse as _ibbroker_v1_ReleaseLeaseResponse, ReleaseLeaseResponse__Output as _ibbroker_v1_ReleaseLeaseResponse__Output } from '../../ibbroker/v1/ReleaseLeaseResponse';
import type { RenewLeaseRequest as _ibbroker_v1_RenewLeaseRequest, RenewLeaseRequest__Output as _ibbroker_v1_RenewLeaseRequest__Output } from '../../ibbroker/v1/RenewLeaseRequest';
import type { RenewLeaseResponse as _ibbroker_v1_RenewLeaseResponse, RenewLeaseResponse__Output as _ibbroker_v1_RenewLeaseResponse__Output } from '../../ibbroker/v1/RenewLeaseResponse';
import type { WatchLeasesRequest as _ibbroker_v1_WatchLeasesRequest, WatchLeasesRequest__Output as _ibbroker_v1_WatchLeasesRequest__Output } from '../../ibbroker/v1/WatchLeasesRequest';
import type { WatchLeasesResponse as _ibbroker_v1_WatchLeasesResponse, WatchLeasesResponse__Output as _ibbroker_v1_WatchLeasesResponse__Output } from '../../ibbroker/v1/WatchLeasesResponse';

/**
 * LeaseService allocates IB API client IDs: the broker is the single allocator, so strategies
 * never collide (IB error 326) nor leave an ID stuck after a crash.
 */
export interface LeaseServiceClient extends grpc.Client {
  /**
   * AcquireLease leases a free client ID. Idempotent on request_id.
   */
  AcquireLease(argument: _ibbroker_v1_AcquireLeaseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_AcquireLeaseResponse__Output>): grpc.ClientUnaryCall;
  AcquireLease(argument: _ibbroker_v1_AcquireLeaseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_AcquireLeaseResponse__Output>): grpc.ClientUnaryCall;
  AcquireLease(argument: _ibbroker_v1_AcquireLeaseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_AcquireLeaseResponse__Output>): grpc.ClientUnaryCall;
  AcquireLease(argument: _ibbroker_v1_AcquireLeaseRequest, callback: grpc.requestCallback<_ibbroker_v1_AcquireLeaseResponse__Output>): grpc.ClientUnaryCall;
  /**
   * AcquireLease leases a free client ID. Idempotent on request_id.
   */
  acquireLease(argument: _ibbroker_v1_AcquireLeaseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_AcquireLeaseResponse__Output>): grpc.ClientUnaryCall;
  acquireLease(argument: _ibbroker_v1_AcquireLeaseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_AcquireLeaseResponse__Output>): grpc.ClientUnaryCall;
  acquireLease(argument: _ibbroker_v1_AcquireLeaseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_AcquireLeaseResponse__Output>): grpc.ClientUnaryCall;
  acquireLease(argument: _ibbroker_v1_AcquireLeaseRequest, callback: grpc.requestCallback<_ibbroker_v1_AcquireLeaseResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * GetLease returns one lease.
   */
  GetLease(argument: _ibbroker_v1_GetLeaseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetLeaseResponse__Output>): grpc.ClientUnaryCall;
  GetLease(argument: _ibbroker_v1_GetLeaseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_GetLeaseResponse__Output>): grpc.ClientUnaryCall;
  GetLease(argument: _ibbroker_v1_GetLeaseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetLeaseResponse__Output>): grpc.ClientUnaryCall;
  GetLease(argument: _ibbroker_v1_GetLeaseRequest, callback: grpc.requestCallback<_ibbroker_v1_GetLeaseResponse__Output>): grpc.ClientUnaryCall;
  /**
   * GetLease returns one lease.
   */
  getLease(argument: _ibbroker_v1_GetLeaseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetLeaseResponse__Output>): grpc.ClientUnaryCall;
  getLease(argument: _ibbroker_v1_GetLeaseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_GetLeaseResponse__Output>): grpc.ClientUnaryCall;
  getLease(argument: _ibbroker_v1_GetLeaseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetLeaseResponse__Output>): grpc.ClientUnaryCall;
  getLease(argument: _ibbroker_v1_GetLeaseRequest, callback: grpc.requestCallback<_ibbroker_v1_GetLeaseResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * ListLeases returns the active leases, optionally filtered.
   */
  ListLeases(argument: _ibbroker_v1_ListLeasesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ListLeasesResponse__Output>): grpc.ClientUnaryCall;
  ListLeases(argument: _ibbroker_v1_ListLeasesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_ListLeasesResponse__Output>): grpc.ClientUnaryCall;
  ListLeases(argument: _ibbroker_v1_ListLeasesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ListLeasesResponse__Output>): grpc.ClientUnaryCall;
  ListLeases(argument: _ibbroker_v1_ListLeasesRequest, callback: grpc.requestCallback<_ibbroker_v1_ListLeasesResponse__Output>): grpc.ClientUnaryCall;
  /**
   * ListLeases returns the active leases, optionally filtered.
   */
  listLeases(argument: _ibbroker_v1_ListLeasesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ListLeasesResponse__Output>): grpc.ClientUnaryCall;
  listLeases(argument: _ibbroker_v1_ListLeasesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_ListLeasesResponse__Output>): grpc.ClientUnaryCall;
  listLeases(argument: _ibbroker_v1_ListLeasesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ListLeasesResponse__Output>): grpc.ClientUnaryCall;
  listLeases(argument: _ibbroker_v1_ListLeasesRequest, callback: grpc.requestCallback<_ibbroker_v1_ListLeasesResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * ReleaseLease gives a lease back. Checks owner and epoch.
   */
  ReleaseLease(argument: _ibbroker_v1_ReleaseLeaseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ReleaseLeaseResponse__Output>): grpc.ClientUnaryCall;
  ReleaseLease(argument: _ibbroker_v1_ReleaseLeaseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_ReleaseLeaseResponse__Output>): grpc.ClientUnaryCall;
  ReleaseLease(argument: _ibbroker_v1_ReleaseLeaseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ReleaseLeaseResponse__Output>): grpc.ClientUnaryCall;
  ReleaseLease(argument: _ibbroker_v1_ReleaseLeaseRequest, callback: grpc.requestCallback<_ibbroker_v1_ReleaseLeaseResponse__Output>): grpc.ClientUnaryCall;
  /**
   * ReleaseLease gives a lease back. Checks owner and epoch.
   */
  releaseLease(argument: _ibbroker_v1_ReleaseLeaseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ReleaseLeaseResponse__Output>): grpc.ClientUnaryCall;
  releaseLease(argument: _ibbroker_v1_ReleaseLeaseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_ReleaseLeaseResponse__Output>): grpc.ClientUnaryCall;
  releaseLease(argument: _ibbroker_v1_ReleaseLeaseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ReleaseLeaseResponse__Output>): grpc.ClientUnaryCall;
  releaseLease(argument: _ibbroker_v1_ReleaseLeaseRequest, callback: grpc.requestCallback<_ibbroker_v1_ReleaseLeaseResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * RenewLease extends a lease by its TTL (or the TTL given). Checks owner and epoch.
   */
  RenewLease(argument: _ibbroker_v1_RenewLeaseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_RenewLeaseResponse__Output>): grpc.ClientUnaryCall;
  RenewLease(argument: _ibbroker_v1_RenewLeaseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_RenewLeaseResponse__Output>): grpc.ClientUnaryCall;
  RenewLease(argument: _ibbroker_v1_RenewLeaseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_RenewLeaseResponse__Output>): grpc.ClientUnaryCall;
  RenewLease(argument: _ibbroker_v1_RenewLeaseRequest, callback: grpc.requestCallback<_ibbroker_v1_RenewLeaseResponse__Output>): grpc.ClientUnaryCall;
  /**
   * RenewLease extends a lease by its TTL (or the TTL given). Checks owner and epoch.
   */
  renewLease(argument: _ibbroker_v1_RenewLeaseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_RenewLeaseResponse__Output>): grpc.ClientUnaryCall;
  renewLease(argument: _ibbroker_v1_RenewLeaseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_RenewLeaseResponse__Output>): grpc.ClientUnaryCall;
  renewLease(argument: _ibbroker_v1_RenewLeaseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_RenewLeaseResponse__Output>): grpc.ClientUnaryCall;
  renewLease(argument: _ibbroker_v1_RenewLeaseRequest, callback: grpc.requestCallback<_ibbroker_v1_RenewLeaseResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * WatchLeases streams one SNAPSHOT event per active lease, then every lease event.
   */
  WatchLeases(argument: _ibbroker_v1_WatchLeasesRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ibbroker_v1_WatchLeasesResponse__Output>;
  WatchLeases(argument: _ibbroker_v1_WatchLeasesRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ibbroker_v1_WatchLeasesResponse__Output>;
  /**
   * WatchLeases streams one SNAPSHOT event per active lease, then every lease event.
   */
  watchLeases(argument: _ibbroker_v1_WatchLeasesRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ibbroker_v1_WatchLeasesResponse__Output>;
  watchLeases(argument: _ibbroker_v1_WatchLeasesRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ibbroker_v1_WatchLeasesResponse__Output>;
  
}

/**
 * LeaseService allocates IB API client IDs: the broker is the single allocator, so strategies
 * never collide (IB error 326) nor leave an ID stuck after a crash.
 */
export interface LeaseServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * AcquireLease leases a free client ID. Idempotent on request_id.
   */
  AcquireLease: grpc.handleUnaryCall<_ibbroker_v1_AcquireLeaseRequest__Output, _ibbroker_v1_AcquireLeaseResponse>;
  
  /**
   * GetLease returns one lease.
   */
  GetLease: grpc.handleUnaryCall<_ibbroker_v1_GetLeaseRequest__Output, _ibbroker_v1_GetLeaseResponse>;
  
  /**
   * ListLeases returns the active leases, optionally filtered.
   */
  ListLeases: grpc.handleUnaryCall<_ibbroker_v1_ListLeasesRequest__Output, _ibbroker_v1_ListLeasesResponse>;
  
  /**
   * ReleaseLease gives a lease back. Checks owner and epoch.
   */
  ReleaseLease: grpc.handleUnaryCall<_ibbroker_v1_ReleaseLeaseRequest__Output, _ibbroker_v1_ReleaseLeaseResponse>;
  
  /**
   * RenewLease extends a lease by its TTL (or the TTL given). Checks owner and epoch.
   */
  RenewLease: grpc.handleUnaryCall<_ibbroker_v1_RenewLeaseRequest__Output, _ibbroker_v1_RenewLeaseResponse>;
  
  /**
   * WatchLeases streams one SNAPSHOT event per active lease, then every lease event.
   */
  WatchLeases: grpc.handleServerStreamingCall<_ibbroker_v1_WatchLeasesRequest__Output, _ibbroker_v1_WatchLeasesResponse>;
  
}

export interface LeaseServiceDefinition extends grpc.ServiceDefinition {
  AcquireLease: MethodDefinition<_ibbroker_v1_AcquireLeaseRequest, _ibbroker_v1_AcquireLeaseResponse, _ibbroker_v1_AcquireLeaseRequest__Output, _ibbroker_v1_AcquireLeaseResponse__Output>
  GetLease: MethodDefinition<_ibbroker_v1_GetLeaseRequest, _ibbroker_v1_GetLeaseResponse, _ibbroker_v1_GetLeaseRequest__Output, _ibbroker_v1_GetLeaseResponse__Output>
  ListLeases: MethodDefinition<_ibbroker_v1_ListLeasesRequest, _ibbroker_v1_ListLeasesResponse, _ibbroker_v1_ListLeasesRequest__Output, _ibbroker_v1_ListLeasesResponse__Output>
  ReleaseLease: MethodDefinition<_ibbroker_v1_ReleaseLeaseRequest, _ibbroker_v1_ReleaseLeaseResponse, _ibbroker_v1_ReleaseLeaseRequest__Output, _ibbroker_v1_ReleaseLeaseResponse__Output>
  RenewLease: MethodDefinition<_ibbroker_v1_RenewLeaseRequest, _ibbroker_v1_RenewLeaseResponse, _ibbroker_v1_RenewLeaseRequest__Output, _ibbroker_v1_RenewLeaseResponse__Output>
  WatchLeases: MethodDefinition<_ibbroker_v1_WatchLeasesRequest, _ibbroker_v1_WatchLeasesResponse, _ibbroker_v1_WatchLeasesRequest__Output, _ibbroker_v1_WatchLeasesResponse__Output>
}
