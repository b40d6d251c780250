// Original file: ibbroker/v1/trading_service.proto

import type { Contract as _ibbroker_v1_Contract, Contract__Output as _ibbroker_v1_Contract__Output } from '../../ibbroker/v1/Contract';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { BarSize as _ibbroker_v1_BarSize, BarSize__Output as _ibbroker_v1_BarSize__Output } from '../../ibbroker/v1/BarSize';
import type { WhatToShow as _ibbroker_v1_WhatToShow, WhatToShow__Output as _ibbroker_v1_WhatToShow__Output } from '../../ibbroker/v1/WhatToShow';

/**
 * GetHistoricalBarsRequest asks for historical bars.
 */
export interface GetHistoricalBarsRequest {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway'?: (string);
  /**
   * The instrument.
   */
  'contract'?: (_ibbroker_v1_Contract | null);
  /**
   * The end of the period; unset means now.
   */
  'end_time'?: (_google_protobuf_Timestamp | null);
  /**
   * The length of the period in IB's syntax: an integer and a unit S, D, W, M or Y ("30 D").
   */
  'duration'?: (string);
  /**
   * The bar length.
   */
  'bar_size'?: (_ibbroker_v1_BarSize);
  /**
   * What the bars show; unset means TRADES.
   */
  'what_to_show'?: (_ibbroker_v1_WhatToShow);
  /**
   * Only regular trading hours.
   */
  'use_rth'?: (boolean);
}

/**
 * GetHistoricalBarsRequest asks for historical bars.
 */
export interface GetHistoricalBarsRequest__Output {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway': (string);
  /**
   * The instrument.
   */
  'contract': (_ibbroker_v1_Contract__Output | null);
  /**
   * The end of the period; unset means now.
   */
  'end_time': (_google_protobuf_Timestamp__Output | null);
  /**
   * The length of the period in IB's syntax: an integer and a unit S, D, W, M or Y ("30 D").
   */
  'duration': (string);
  /**
   * The bar length.
   */
  'bar_size': (_ibbroker_v1_BarSize__Output);
  /**
   * What the bars show; unset means TRADES.
   */
  'what_to_show': (_ibbroker_v1_WhatToShow__Output);
  /**
   * Only regular trading hours.
   */
  'use_rth': (boolean);
}
