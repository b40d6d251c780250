// Original file: ibbroker/v1/market_data.proto

import type { Contract as _ibbroker_v1_Contract, Contract__Output as _ibbroker_v1_Contract__Output } from '../../ibbroker/v1/Contract';
import type { MarketDataType as _ibbroker_v1_MarketDataType, MarketDataType__Output as _ibbroker_v1_MarketDataType__Output } from '../../ibbroker/v1/MarketDataType';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';

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
}
