// Original file: ibbroker/v1/trading_service.proto

import type { Contract as _ibbroker_v1_Contract, Contract__Output as _ibbroker_v1_Contract__Output } from '../../ibbroker/v1/Contract';
import type { MarketDataField as _ibbroker_v1_MarketDataField, MarketDataField__Output as _ibbroker_v1_MarketDataField__Output } from '../../ibbroker/v1/MarketDataField';
import type { MarketDataType as _ibbroker_v1_MarketDataType, MarketDataType__Output as _ibbroker_v1_MarketDataType__Output } from '../../ibbroker/v1/MarketDataType';
import type { WhatToShow as _ibbroker_v1_WhatToShow, WhatToShow__Output as _ibbroker_v1_WhatToShow__Output } from '../../ibbroker/v1/WhatToShow';
import type { Long } from '@grpc/proto-loader';

/**
 * WatchMarketDataRequest opens a market data stream.
 */
export interface WatchMarketDataRequest {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway'?: (string);
  /**
   * The instrument: con_id, or enough fields to resolve to exactly one contract.
   */
  'contract'?: (_ibbroker_v1_Contract | null);
  /**
   * The fields wanted; empty means bid, ask, last and their sizes.
   */
  'fields'?: (_ibbroker_v1_MarketDataField)[];
  /**
   * Live, frozen or delayed; unset means LIVE.
   */
  'market_data_type'?: (_ibbroker_v1_MarketDataType);
  /**
   * Also stream 5-second real-time bars (BAR events): one IB reqRealTimeBars per gateway,
   * instrument, realtime_bars_what_to_show and realtime_bars_use_rth, shared by every
   * subscriber; it takes a line of the gateway's budget, as IB counts it.
   */
  'realtime_bars'?: (boolean);
  /**
   * Who asks (shown in GetMarketDataLines).
   */
  'owner'?: (string);
  /**
   * Resume: replay the retained events after this sequence number (a GAP first when some are
   * no longer retained), then a SNAPSHOT.
   */
  'resume_after_sequence'?: (number | string | Long);
  /**
   * What the real-time bars show: TRADES (unset), MIDPOINT, BID or ASK; other values are
   * INVALID_ARGUMENT. Only with realtime_bars.
   */
  'realtime_bars_what_to_show'?: (_ibbroker_v1_WhatToShow);
  /**
   * Real-time bars of regular trading hours only. Only with realtime_bars.
   */
  'realtime_bars_use_rth'?: (boolean);
  /**
   * Bars only: no quote line is held (no SNAPSHOT or UPDATE; BAR, GAP and FINAL events).
   * Needs realtime_bars; fields must be empty.
   */
  'realtime_bars_only'?: (boolean);
}

/**
 * WatchMarketDataRequest opens a market data stream.
 */
export interface WatchMarketDataRequest__Output {
  /**
   * The gateway; empty means the default gateway.
   */
  'gateway': (string);
  /**
   * The instrument: con_id, or enough fields to resolve to exactly one contract.
   */
  'contract': (_ibbroker_v1_Contract__Output | null);
  /**
   * The fields wanted; empty means bid, ask, last and their sizes.
   */
  'fields': (_ibbroker_v1_MarketDataField__Output)[];
  /**
   * Live, frozen or delayed; unset means LIVE.
   */
  'market_data_type': (_ibbroker_v1_MarketDataType__Output);
  /**
   * Also stream 5-second real-time bars (BAR events): one IB reqRealTimeBars per gateway,
   * instrument, realtime_bars_what_to_show and realtime_bars_use_rth, shared by every
   * subscriber; it takes a line of the gateway's budget, as IB counts it.
   */
  'realtime_bars': (boolean);
  /**
   * Who asks (shown in GetMarketDataLines).
   */
  'owner': (string);
  /**
   * Resume: replay the retained events after this sequence number (a GAP first when some are
   * no longer retained), then a SNAPSHOT.
   */
  'resume_after_sequence': (string);
  /**
   * What the real-time bars show: TRADES (unset), MIDPOINT, BID or ASK; other values are
   * INVALID_ARGUMENT. Only with realtime_bars.
   */
  'realtime_bars_what_to_show': (_ibbroker_v1_WhatToShow__Output);
  /**
   * Real-time bars of regular trading hours only. Only with realtime_bars.
   */
  'realtime_bars_use_rth': (boolean);
  /**
   * Bars only: no quote line is held (no SNAPSHOT or UPDATE; BAR, GAP and FINAL events).
   * Needs realtime_bars; fields must be empty.
   */
  'realtime_bars_only': (boolean);
}
