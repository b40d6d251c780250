// Original file: ibbroker/v1/lease_service.proto


/**
 * ReleaseLeaseResponse is empty.
 */
export interface ReleaseLeaseResponse {
}

/**
 * ReleaseLeaseResponse is empty.
 */
export interface ReleaseLeaseResponse__Output {
}
