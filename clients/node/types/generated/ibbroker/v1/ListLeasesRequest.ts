// Original file: ibbroker/v1/lease_service.proto


/**
 * ListLeasesRequest filters the active leases.
 */
export interface ListLeasesRequest {
  /**
   * Only leases on this gateway; empty means all gateways.
   */
  'gateway'?: (string);
  /**
   * Only leases held by this owner; empty means all owners.
   */
  'owner'?: (string);
}

/**
 * ListLeasesRequest filters the active leases.
 */
export interface ListLeasesRequest__Output {
  /**
   * Only leases on this gateway; empty means all gateways.
   */
  'gateway': (string);
  /**
   * Only leases held by this owner; empty means all owners.
   */
  'owner': (string);
}
