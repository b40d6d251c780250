// Original file: ibbroker/v1/connection_service.proto

import type { SessionInfo as _ibbroker_v1_SessionInfo, SessionInfo__Output as _ibbroker_v1_SessionInfo__Output } from '../../ibbroker/v1/SessionInfo';

/**
 * ListSessionsResponse lists sessions.
 */
export interface ListSessionsResponse {
  /**
   * The sessions.
   */
  'sessions'?: (_ibbroker_v1_SessionInfo)[];
}

/**
 * ListSessionsResponse lists sessions.
 */
export interface ListSessionsResponse__Output {
  /**
   * The sessions.
   */
  'sessions': (_ibbroker_v1_SessionInfo__Output)[];
}
