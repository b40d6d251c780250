// Original file: ibbroker/v1/market_data.proto

import type { Contract as _ibbroker_v1_Contract, Contract__Output as _ibbroker_v1_Contract__Output } from '../../ibbroker/v1/Contract';
import type { MarketDataType as _ibbroker_v1_MarketDataType, MarketDataType__Output as _ibbroker_v1_MarketDataType__Output } from '../../ibbroker/v1/MarketDataType';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { WhatToShow as _ibbroker_v1_WhatToShow, WhatToShow__Output as _ibbroker_v1_WhatToShow__Output } from '../../ibbroker/v1/WhatToShow';

/**
 * MarketDataLine is one IB market data subscription of a gateway.
 */
export interface MarketDataLine {
  /**
   * The instrument.
   */
  'contract'?: (_ibbroker_v1_Contract | null);
  /**
   * The market data type.
   */
  'market_data_type'?: (_ibbroker_v1_MarketDataType);
  /**
   * How many streams share it.
   */
  'subscribers'?: (number);
  /**
   * The owners of those streams.
   */
  'owners'?: (string)[];
  /**
   * When IB was asked for it.
   */
  'open_time'?: (_google_protobuf_Timestamp | null);
  /**
   * While lingering after the last subscriber left: when it will be cancelled at IB.
   */
  'linger_until'?: (_google_protobuf_Timestamp | null);
  /**
   * A 5-second real-time bar line (reqRealTimeBars) rather than a quote line.
   */
  'realtime_bars'?: (boolean);
  /**
   * For a real-time bar line: what the bars show.
   */
  'what_to_show'?: (_ibbroker_v1_WhatToShow);
  /**
   * For a real-time bar line: regular trading hours only.
   */
  'use_rth'?: (boolean);
}

/**
 * MarketDataLine is one IB market data subscription of a gateway.
 */
export interface MarketDataLine__Output {
  /**
   * The instrument.
   */
  'contract': (_ibbroker_v1_Contract__Output | null);
  /**
   * The market data type.
   */
  'market_data_type': (_ibbroker_v1_MarketDataType__Output);
  /**
   * How many streams share it.
   */
  'subscribers': (number);
  /**
   * The owners of those streams.
   */
  'owners': (string)[];
  /**
   * When IB was asked for it.
   */
  'open_time': (_google_protobuf_Timestamp__Output | null);
  /**
   * While lingering after the last subscriber left: when it will be cancelled at IB.
   */
  'linger_until': (_google_protobuf_Timestamp__Output | null);
  /**
   * A 5-second real-time bar line (reqRealTimeBars) rather than a quote line.
   */
  'realtime_bars': (boolean);
  /**
   * For a real-time bar line: what the bars show.
   */
  'what_to_show': (_ibbroker_v1_WhatToShow__Output);
  /**
   * For a real-time bar line: regular trading hours only.
   */
  'use_rth': (boolean);
}
