// Original file: ibbroker/v1/market_data.proto

/**
 * MarketDataEventKind says what a market data event reports.
 */
export const MarketDataEventKind = {
  /**
   * Not set; never sent.
   */
  MARKET_DATA_EVENT_KIND_UNSPECIFIED: 'MARKET_DATA_EVENT_KIND_UNSPECIFIED',
  /**
   * The current quote, sent first (and again after a GAP).
   */
  MARKET_DATA_EVENT_KIND_SNAPSHOT: 'MARKET_DATA_EVENT_KIND_SNAPSHOT',
  /**
   * Some fields changed; `changed` lists them, `quote` has every field's latest value.
   */
  MARKET_DATA_EVENT_KIND_UPDATE: 'MARKET_DATA_EVENT_KIND_UPDATE',
  /**
   * A 5-second real-time bar (when requested).
   */
  MARKET_DATA_EVENT_KIND_BAR: 'MARKET_DATA_EVENT_KIND_BAR',
  /**
   * Ticks may have been missed between gap_start and gap_end (reconnect, 1101, data farm
   * outage); a fresh SNAPSHOT follows once the line is back.
   */
  MARKET_DATA_EVENT_KIND_GAP: 'MARKET_DATA_EVENT_KIND_GAP',
  /**
   * The broker is shutting down: the last event of the stream.
   */
  MARKET_DATA_EVENT_KIND_FINAL: 'MARKET_DATA_EVENT_KIND_FINAL',
} as const;

/**
 * MarketDataEventKind says what a market data event reports.
 */
export type MarketDataEventKind =
  /**
   * Not set; never sent.
   */
  | 'MARKET_DATA_EVENT_KIND_UNSPECIFIED'
  | 0
  /**
   * The current quote, sent first (and again after a GAP).
   */
  | 'MARKET_DATA_EVENT_KIND_SNAPSHOT'
  | 1
  /**
   * Some fields changed; `changed` lists them, `quote` has every field's latest value.
   */
  | 'MARKET_DATA_EVENT_KIND_UPDATE'
  | 2
  /**
   * A 5-second real-time bar (when requested).
   */
  | 'MARKET_DATA_EVENT_KIND_BAR'
  | 3
  /**
   * Ticks may have been missed between gap_start and gap_end (reconnect, 1101, data farm
   * outage); a fresh SNAPSHOT follows once the line is back.
   */
  | 'MARKET_DATA_EVENT_KIND_GAP'
  | 4
  /**
   * The broker is shutting down: the last event of the stream.
   */
  | 'MARKET_DATA_EVENT_KIND_FINAL'
  | 5

/**
 * MarketDataEventKind says what a market data event reports.
 */
export type MarketDataEventKind__Output = typeof MarketDataEventKind[keyof typeof MarketDataEventKind]
