// Original file: ibbroker/v1/market_data.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { MarketDataEventKind as _ibbroker_v1_MarketDataEventKind, MarketDataEventKind__Output as _ibbroker_v1_MarketDataEventKind__Output } from '../../ibbroker/v1/MarketDataEventKind';
import type { Quote as _ibbroker_v1_Quote, Quote__Output as _ibbroker_v1_Quote__Output } from '../../ibbroker/v1/Quote';
import type { MarketDataField as _ibbroker_v1_MarketDataField, MarketDataField__Output as _ibbroker_v1_MarketDataField__Output } from '../../ibbroker/v1/MarketDataField';
import type { Bar as _ibbroker_v1_Bar, Bar__Output as _ibbroker_v1_Bar__Output } from '../../ibbroker/v1/Bar';
import type { MarketDataType as _ibbroker_v1_MarketDataType, MarketDataType__Output as _ibbroker_v1_MarketDataType__Output } from '../../ibbroker/v1/MarketDataType';
import type { Long } from '@grpc/proto-loader';

/**
 * MarketDataEvent is one event of WatchMarketData.
 */
export interface MarketDataEvent {
  /**
   * Strictly increasing per subscription; pass it back to resume.
   */
  'sequence'?: (number | string | Long);
  /**
   * When the broker received it.
   */
  'event_time'?: (_google_protobuf_Timestamp | null);
  /**
   * What it reports.
   */
  'kind'?: (_ibbroker_v1_MarketDataEventKind);
  /**
   * The latest quote, for SNAPSHOT and UPDATE.
   */
  'quote'?: (_ibbroker_v1_Quote | null);
  /**
   * The fields that changed, for UPDATE.
   */
  'changed'?: (_ibbroker_v1_MarketDataField)[];
  /**
   * Updates merged into this one because the subscriber read slower than they came (the
   * latest value of each field wins).
   */
  'conflated_updates'?: (number);
  /**
   * The bar, for BAR.
   */
  'bar'?: (_ibbroker_v1_Bar | null);
  /**
   * Start of the window in which ticks may have been missed, for GAP.
   */
  'gap_start'?: (_google_protobuf_Timestamp | null);
  /**
   * End of that window, for GAP.
   */
  'gap_end'?: (_google_protobuf_Timestamp | null);
  /**
   * Why, for GAP (for example "1101 data lost" or "2103 farm broken").
   */
  'reason'?: (string);
  /**
   * The market data type IB actually delivers (it falls back to delayed without permission).
   */
  'market_data_type'?: (_ibbroker_v1_MarketDataType);
}

/**
 * MarketDataEvent is one event of WatchMarketData.
 */
export interface MarketDataEvent__Output {
  /**
   * Strictly increasing per subscription; pass it back to resume.
   */
  'sequence': (string);
  /**
   * When the broker received it.
   */
  'event_time': (_google_protobuf_Timestamp__Output | null);
  /**
   * What it reports.
   */
  'kind': (_ibbroker_v1_MarketDataEventKind__Output);
  /**
   * The latest quote, for SNAPSHOT and UPDATE.
   */
  'quote': (_ibbroker_v1_Quote__Output | null);
  /**
   * The fields that changed, for UPDATE.
   */
  'changed': (_ibbroker_v1_MarketDataField__Output)[];
  /**
   * Updates merged into this one because the subscriber read slower than they came (the
   * latest value of each field wins).
   */
  'conflated_updates': (number);
  /**
   * The bar, for BAR.
   */
  'bar': (_ibbroker_v1_Bar__Output | null);
  /**
   * Start of the window in which ticks may have been missed, for GAP.
   */
  'gap_start': (_google_protobuf_Timestamp__Output | null);
  /**
   * End of that window, for GAP.
   */
  'gap_end': (_google_protobuf_Timestamp__Output | null);
  /**
   * Why, for GAP (for example "1101 data lost" or "2103 farm broken").
   */
  'reason': (string);
  /**
   * The market data type IB actually delivers (it falls back to delayed without permission).
   */
  'market_data_type': (_ibbroker_v1_MarketDataType__Output);
}
