// Original file: ibbroker/v1/lease_service.proto


/**
 * GetLeaseRequest names one lease.
 */
export interface GetLeaseRequest {
  /**
   * The lease to return.
   */
  'lease_id'?: (string);
}

/**
 * GetLeaseRequest names one lease.
 */
export interface GetLeaseRequest__Output {
  /**
   * The lease to return.
   */
  'lease_id': (string);
}
