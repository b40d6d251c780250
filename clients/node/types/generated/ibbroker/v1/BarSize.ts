// Original file: ibbroker/v1/market_data.proto

/**
 * BarSize is the length of a historical bar (IB's barSizeSetting).
 */
export const BarSize = {
  /**
   * Not set; refused with INVALID_ARGUMENT.
   */
  BAR_SIZE_UNSPECIFIED: 'BAR_SIZE_UNSPECIFIED',
  /**
   * 1 second.
   */
  BAR_SIZE_1_SECOND: 'BAR_SIZE_1_SECOND',
  /**
   * 5 seconds.
   */
  BAR_SIZE_5_SECONDS: 'BAR_SIZE_5_SECONDS',
  /**
   * 10 seconds.
   */
  BAR_SIZE_10_SECONDS: 'BAR_SIZE_10_SECONDS',
  /**
   * 15 seconds.
   */
  BAR_SIZE_15_SECONDS: 'BAR_SIZE_15_SECONDS',
  /**
   * 30 seconds.
   */
  BAR_SIZE_30_SECONDS: 'BAR_SIZE_30_SECONDS',
  /**
   * 1 minute.
   */
  BAR_SIZE_1_MINUTE: 'BAR_SIZE_1_MINUTE',
  /**
   * 2 minutes.
   */
  BAR_SIZE_2_MINUTES: 'BAR_SIZE_2_MINUTES',
  /**
   * 3 minutes.
   */
  BAR_SIZE_3_MINUTES: 'BAR_SIZE_3_MINUTES',
  /**
   * 5 minutes.
   */
  BAR_SIZE_5_MINUTES: 'BAR_SIZE_5_MINUTES',
  /**
   * 10 minutes.
   */
  BAR_SIZE_10_MINUTES: 'BAR_SIZE_10_MINUTES',
  /**
   * 15 minutes.
   */
  BAR_SIZE_15_MINUTES: 'BAR_SIZE_15_MINUTES',
  /**
   * 20 minutes.
   */
  BAR_SIZE_20_MINUTES: 'BAR_SIZE_20_MINUTES',
  /**
   * 30 minutes.
   */
  BAR_SIZE_30_MINUTES: 'BAR_SIZE_30_MINUTES',
  /**
   * 1 hour.
   */
  BAR_SIZE_1_HOUR: 'BAR_SIZE_1_HOUR',
  /**
   * 2 hours.
   */
  BAR_SIZE_2_HOURS: 'BAR_SIZE_2_HOURS',
  /**
   * 3 hours.
   */
  BAR_SIZE_3_HOURS: 'BAR_SIZE_3_HOURS',
  /**
   * 4 hours.
   */
  BAR_SIZE_4_HOURS: 'BAR_SIZE_4_HOURS',
  /**
   * 8 hours.
   */
  BAR_SIZE_8_HOURS: 'BAR_SIZE_8_HOURS',
  /**
   * 1 day.
   */
  BAR_SIZE_1_DAY: 'BAR_SIZE_1_DAY',
  /**
   * 1 week.
   */
  BAR_SIZE_1_WEEK: 'BAR_SIZE_1_WEEK',
  /**
   * 1 month.
   */
  BAR_SIZE_1_MONTH: 'BAR_SIZE_1_MONTH',
} as const;

/**
 * BarSize is the length of a historical bar (IB's barSizeSetting).
 */
export type BarSize =
  /**
   * Not set; refused with INVALID_ARGUMENT.
   */
  | 'BAR_SIZE_UNSPECIFIED'
  | 0
  /**
   * 1 second.
   */
  | 'BAR_SIZE_1_SECOND'
  | 1
  /**
   * 5 seconds.
   */
  | 'BAR_SIZE_5_SECONDS'
  | 2
  /**
   * 10 seconds.
   */
  | 'BAR_SIZE_10_SECONDS'
  | 3
  /**
   * 15 seconds.
   */
  | 'BAR_SIZE_15_SECONDS'
  | 4
  /**
   * 30 seconds.
   */
  | 'BAR_SIZE_30_SECONDS'
  | 5
  /**
   * 1 minute.
   */
  | 'BAR_SIZE_1_MINUTE'
  | 6
  /**
   * 2 minutes.
   */
  | 'BAR_SIZE_2_MINUTES'
  | 7
  /**
   * 3 minutes.
   */
  | 'BAR_SIZE_3_MINUTES'
  | 8
  /**
   * 5 minutes.
   */
  | 'BAR_SIZE_5_MINUTES'
  | 9
  /**
   * 10 minutes.
   */
  | 'BAR_SIZE_10_MINUTES'
  | 10
  /**
   * 15 minutes.
   */
  | 'BAR_SIZE_15_MINUTES'
  | 11
  /**
   * 20 minutes.
   */
  | 'BAR_SIZE_20_MINUTES'
  | 12
  /**
   * 30 minutes.
   */
  | 'BAR_SIZE_30_MINUTES'
  | 13
  /**
   * 1 hour.
   */
  | 'BAR_SIZE_1_HOUR'
  | 14
  /**
   * 2 hours.
   */
  | 'BAR_SIZE_2_HOURS'
  | 15
  /**
   * 3 hours.
   */
  | 'BAR_SIZE_3_HOURS'
  | 16
  /**
   * 4 hours.
   */
  | 'BAR_SIZE_4_HOURS'
  | 17
  /**
   * 8 hours.
   */
  | 'BAR_SIZE_8_HOURS'
  | 18
  /**
   * 1 day.
   */
  | 'BAR_SIZE_1_DAY'
  | 19
  /**
   * 1 week.
   */
  | 'BAR_SIZE_1_WEEK'
  | 20
  /**
   * 1 month.
   */
  | 'BAR_SIZE_1_MONTH'
  | 21

/**
 * BarSize is the length of a historical bar (IB's barSizeSetting).
 */
export type BarSize__Output = typeof BarSize[keyof typeof BarSize]
