// Original file: ibbroker/v1/trading_service.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CancelOrderRequest as _ibbroker_v1_CancelOrderRequest, CancelOrderRequest__Output as _ibbroker_v1_CancelOrderRequest__Output } from '../../ibbroker/v1/CancelOrderRequest';
import type { CancelOrderResponse as _ibbroker_v1_CancelOrderResponse, CancelOrderResponse__Output as _ibbroker_v1_CancelOrderResponse__Output } from '../../ibbroker/v1/CancelOrderResponse';
import type { GetAccountSummaryRequest as _ibbroker_v1_GetAccountSummaryRequest, GetAccountSummaryRequest__Output as _ibbroker_v1_GetAccountSummaryRequest__Output } from '../../ibbroker/v1/GetAccountSummaryRequest';
import type { GetAccountSummaryResponse as _ibbroker_v1_GetAccountSummaryResponse, GetAccountSummaryResponse__Output as _ibbroker_v1_GetAccountSummaryResponse__Output } from '../../ibbroker/v1/GetAccountSummaryResponse';
import type { GetContractDetailsRequest as _ibbroker_v1_GetContractDetailsRequest, GetContractDetailsRequest__Output as _ibbroker_v1_GetContractDetailsRequest__Output } from '../../ibbroker/v1/GetContractDetailsRequest';
import type { GetContractDetailsResponse as _ibbroker_v1_GetContractDetailsResponse, GetContractDetailsResponse__Output as _ibbroker_v1_GetContractDetailsResponse__Output } from '../../ibbroker/v1/GetContractDetailsResponse';
import type { GetCurrentTimeRequest as _ibbroker_v1_GetCurrentTimeRequest, GetCurrentTimeRequest__Output as _ibbroker_v1_GetCurrentTimeRequest__Output } from '../../ibbroker/v1/GetCurrentTimeRequest';
import type { GetCurrentTimeResponse as _ibbroker_v1_GetCurrentTimeResponse, GetCurrentTimeResponse__Output as _ibbroker_v1_GetCurrentTimeResponse__Output } from '../../ibbroker/v1/GetCurrentTimeResponse';
import type { GetHistoricalBarsRequest as _ibbroker_v1_GetHistoricalBarsRequest, GetHistoricalBarsRequest__Output as _ibbroker_v1_GetHistoricalBarsRequest__Output } from '../../ibbroker/v1/GetHistoricalBarsRequest';
import type { GetHistoricalBarsResponse as _ibbroker_v1_GetHistoricalBarsResponse, GetHistoricalBarsResponse__Output as _ibbroker_v1_GetHistoricalBarsResponse__Output } from '../../ibbroker/v1/GetHistoricalBarsResponse';
import type { GetMarketDataLinesRequest as _ibbroker_v1_GetMarketDataLinesRequest, GetMarketDataLinesRequest__Output as _ibbroker_v1_GetMarketDataLinesRequest__Output } from '../../ibbroker/v1/GetMarketDataLinesRequest';
import type { GetMarketDataLinesResponse as _ibbroker_v1_GetMarketDataLinesResponse, GetMarketDataLinesResponse__Output as _ibbroker_v1_GetMarketDataLinesResponse__Output } from '../../ibbroker/v1/GetMarketDataLinesResponse';
import type { GetPositionsRequest as _ibbroker_v1_GetPositionsRequest, GetPositionsRequest__Output as _ibbroker_v1_GetPositionsRequest__Output } from '../../ibbroker/v1/GetPositionsRequest';
import type { GetPositionsResponse as _ibbroker_v1_GetPositionsResponse, GetPositionsResponse__Output as _ibbroker_v1_GetPositionsResponse__Output } from '../../ibbroker/v1/GetPositionsResponse';
import type { ListCompletedOrdersRequest as _ibbroker_v1_ListCompletedOrdersRequest, ListCompletedOrdersRequest__Output as _ibbroker_v1_ListCompletedOrdersRequest__Output } from '../../ibbroker/v1/ListCompletedOrdersRequest';
import type { ListCompletedOrdersResponse as _ibbroker_v1_ListCompletedOrdersResponse, ListCompletedOrdersResponse__Output as _ibbroker_v1_ListCompletedOrdersResponse__Output } from '../../ibbroker/v1/ListCompletedOrdersResponse';
import type { ListExecutionsRequest as _ibbroker_v1_ListExecutionsRequest, ListExecutionsRequest__Output as _ibbroker_v1_ListExecutionsRequest__Output } from '../../ibbroker/v1/ListExecutionsRequest';
import type { ListExecutionsResponse as _ibbroker_v1_ListExecutionsResponse, ListExecutionsResponse__Output as _ibbroker_v1_ListExecutionsResponse__Output } from '../../ibbroker/v1/ListExecutionsResponse';
import type { ListOpenOrdersRequest as _ibbroker_v1_ListOpenOrdersRequest, ListOpenOrdersRequest__Output as _ibbroker_v1_ListOpenOrdersRequest__Output } from '../../ibbroker/v1/ListOpenOrdersRequest';
import type { ListOpenOrdersResponse as _ibbroker_v1_ListOpenOrdersResponse, ListOpenOrdersResponse__Output as _ibbroker_v1_ListOpenOrdersResponse__Output } from '../../ibbroker/v1/ListOpenOrdersResponse';
import type { ModifyOrderRequest as _ibbroker_v1_ModifyOrderRequest, ModifyOrderRequest__Output as _ibbroker_v1_ModifyOrderRequest__Output } from '../../ibbroker/v1/ModifyOrderRequest';
import type { ModifyOrderResponse as _ibbroker_v1_ModifyOrderResponse, ModifyOrderResponse__Output as _ibbroker_v1_ModifyOrderResponse__Output } from '../../ibbroker/v1/ModifyOrderResponse';
import type { PlaceOrderRequest as _ibbroker_v1_PlaceOrderRequest, PlaceOrderRequest__Output as _ibbroker_v1_PlaceOrderRequest__Output } from '../../ibbroker/v1/PlaceOrderRequest';
import type { PlaceOrderResponse as _ibbroker_v1_PlaceOrderResponse, PlaceOrderResponse__Output as _ibbroker_v1_PlaceOrderResponse__Output } from '../../ibbroker/v1/PlaceOrderResponse';
import type { WatchMarketDataRequest as _ibbroker_v1_WatchMarketDataRequest, WatchMarketDataRequest__Output as _ibbroker_v1_WatchMarketDataRequest__Output } from '../../ibbroker/v1/WatchMarketDataRequest';
import type { WatchMarketDataResponse as _ibbroker_v1_WatchMarketDataResponse, WatchMarketDataResponse__Output as _ibbroker_v1_WatchMarketDataResponse__Output } from '../../ibbroker/v1/WatchMarketDataResponse';
import type { WatchOrderEventsRequest as _ibbroker_v1_WatchOrderEventsRequest, WatchOrderEventsRequest__Output as _ibbroker_v1_WatchOrderEventsRequest__Output } from '../../ibbroker/v1/WatchOrderEventsRequest';
import type { WatchOrderEventsResponse as _ibbroker_v1_WatchOrderEventsResponse, WatchOrderEventsResponse__Output as _ibbroker_v1_WatchOrderEventsResponse__Output } from '../../ibbroker/v1/WatchOrderEventsResponse';

/**
 * TradingService proxies orders, positions, account and contract queries through the broker's
 * pooled IB sessions. Orders go through the caller's PROXIED lease and happen exactly once:
 * PlaceOrder is journaled durably under its idempotency key before anything reaches IB, and an
 * unknown outcome is reconciled from IB by orderRef, never resent blindly. Read-only calls need
 * no lease. Every call passes the gateway's circuit breaker and the per-session pacing governor
 * (cancels before orders before reads); see docs/trading.md.
 */
export interface TradingServiceClient extends grpc.Client {
  /**
   * CancelOrder cancels a working order; cancelling an already cancelled order returns it.
   */
  CancelOrder(argument: _ibbroker_v1_CancelOrderRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_CancelOrderResponse__Output>): grpc.ClientUnaryCall;
  CancelOrder(argument: _ibbroker_v1_CancelOrderRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_CancelOrderResponse__Output>): grpc.ClientUnaryCall;
  CancelOrder(argument: _ibbroker_v1_CancelOrderRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_CancelOrderResponse__Output>): grpc.ClientUnaryCall;
  CancelOrder(argument: _ibbroker_v1_CancelOrderRequest, callback: grpc.requestCallback<_ibbroker_v1_CancelOrderResponse__Output>): grpc.ClientUnaryCall;
  /**
   * CancelOrder cancels a working order; cancelling an already cancelled order returns it.
   */
  cancelOrder(argument: _ibbroker_v1_CancelOrderRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_CancelOrderResponse__Output>): grpc.ClientUnaryCall;
  cancelOrder(argument: _ibbroker_v1_CancelOrderRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_CancelOrderResponse__Output>): grpc.ClientUnaryCall;
  cancelOrder(argument: _ibbroker_v1_CancelOrderRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_CancelOrderResponse__Output>): grpc.ClientUnaryCall;
  cancelOrder(argument: _ibbroker_v1_CancelOrderRequest, callback: grpc.requestCallback<_ibbroker_v1_CancelOrderResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * GetAccountSummary returns account summary tags of one account or of every managed account.
   */
  GetAccountSummary(argument: _ibbroker_v1_GetAccountSummaryRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetAccountSummaryResponse__Output>): grpc.ClientUnaryCall;
  GetAccountSummary(argument: _ibbroker_v1_GetAccountSummaryRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_GetAccountSummaryResponse__Output>): grpc.ClientUnaryCall;
  GetAccountSummary(argument: _ibbroker_v1_GetAccountSummaryRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetAccountSummaryResponse__Output>): grpc.ClientUnaryCall;
  GetAccountSummary(argument: _ibbroker_v1_GetAccountSummaryRequest, callback: grpc.requestCallback<_ibbroker_v1_GetAccountSummaryResponse__Output>): grpc.ClientUnaryCall;
  /**
   * GetAccountSummary returns account summary tags of one account or of every managed account.
   */
  getAccountSummary(argument: _ibbroker_v1_GetAccountSummaryRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetAccountSummaryResponse__Output>): grpc.ClientUnaryCall;
  getAccountSummary(argument: _ibbroker_v1_GetAccountSummaryRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_GetAccountSummaryResponse__Output>): grpc.ClientUnaryCall;
  getAccountSummary(argument: _ibbroker_v1_GetAccountSummaryRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetAccountSummaryResponse__Output>): grpc.ClientUnaryCall;
  getAccountSummary(argument: _ibbroker_v1_GetAccountSummaryRequest, callback: grpc.requestCallback<_ibbroker_v1_GetAccountSummaryResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * GetContractDetails resolves a contract query. An ambiguous query is INVALID_ARGUMENT
   * (CONTRACT_AMBIGUOUS, naming the candidates) unless list_all is set; no match is NOT_FOUND
   * (CONTRACT_NOT_FOUND, IB code 200 in the metadata).
   */
  GetContractDetails(argument: _ibbroker_v1_GetContractDetailsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetContractDetailsResponse__Output>): grpc.ClientUnaryCall;
  GetContractDetails(argument: _ibbroker_v1_GetContractDetailsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_GetContractDetailsResponse__Output>): grpc.ClientUnaryCall;
  GetContractDetails(argument: _ibbroker_v1_GetContractDetailsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetContractDetailsResponse__Output>): grpc.ClientUnaryCall;
  GetContractDetails(argument: _ibbroker_v1_GetContractDetailsRequest, callback: grpc.requestCallback<_ibbroker_v1_GetContractDetailsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * GetContractDetails resolves a contract query. An ambiguous query is INVALID_ARGUMENT
   * (CONTRACT_AMBIGUOUS, naming the candidates) unless list_all is set; no match is NOT_FOUND
   * (CONTRACT_NOT_FOUND, IB code 200 in the metadata).
   */
  getContractDetails(argument: _ibbroker_v1_GetContractDetailsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetContractDetailsResponse__Output>): grpc.ClientUnaryCall;
  getContractDetails(argument: _ibbroker_v1_GetContractDetailsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_GetContractDetailsResponse__Output>): grpc.ClientUnaryCall;
  getContractDetails(argument: _ibbroker_v1_GetContractDetailsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetContractDetailsResponse__Output>): grpc.ClientUnaryCall;
  getContractDetails(argument: _ibbroker_v1_GetContractDetailsRequest, callback: grpc.requestCallback<_ibbroker_v1_GetContractDetailsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * GetCurrentTime returns TWS's clock: the cheapest round trip to the gateway.
   */
  GetCurrentTime(argument: _ibbroker_v1_GetCurrentTimeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetCurrentTimeResponse__Output>): grpc.ClientUnaryCall;
  GetCurrentTime(argument: _ibbroker_v1_GetCurrentTimeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_GetCurrentTimeResponse__Output>): grpc.ClientUnaryCall;
  GetCurrentTime(argument: _ibbroker_v1_GetCurrentTimeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetCurrentTimeResponse__Output>): grpc.ClientUnaryCall;
  GetCurrentTime(argument: _ibbroker_v1_GetCurrentTimeRequest, callback: grpc.requestCallback<_ibbroker_v1_GetCurrentTimeResponse__Output>): grpc.ClientUnaryCall;
  /**
   * GetCurrentTime returns TWS's clock: the cheapest round trip to the gateway.
   */
  getCurrentTime(argument: _ibbroker_v1_GetCurrentTimeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetCurrentTimeResponse__Output>): grpc.ClientUnaryCall;
  getCurrentTime(argument: _ibbroker_v1_GetCurrentTimeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_GetCurrentTimeResponse__Output>): grpc.ClientUnaryCall;
  getCurrentTime(argument: _ibbroker_v1_GetCurrentTimeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetCurrentTimeResponse__Output>): grpc.ClientUnaryCall;
  getCurrentTime(argument: _ibbroker_v1_GetCurrentTimeRequest, callback: grpc.requestCallback<_ibbroker_v1_GetCurrentTimeResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * GetHistoricalBars returns historical bars, with IB's historical pacing rules enforced by
   * the broker (queued within the caller's deadline, else RESOURCE_EXHAUSTED PACING).
   */
  GetHistoricalBars(argument: _ibbroker_v1_GetHistoricalBarsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetHistoricalBarsResponse__Output>): grpc.ClientUnaryCall;
  GetHistoricalBars(argument: _ibbroker_v1_GetHistoricalBarsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_GetHistoricalBarsResponse__Output>): grpc.ClientUnaryCall;
  GetHistoricalBars(argument: _ibbroker_v1_GetHistoricalBarsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetHistoricalBarsResponse__Output>): grpc.ClientUnaryCall;
  GetHistoricalBars(argument: _ibbroker_v1_GetHistoricalBarsRequest, callback: grpc.requestCallback<_ibbroker_v1_GetHistoricalBarsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * GetHistoricalBars returns historical bars, with IB's historical pacing rules enforced by
   * the broker (queued within the caller's deadline, else RESOURCE_EXHAUSTED PACING).
   */
  getHistoricalBars(argument: _ibbroker_v1_GetHistoricalBarsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetHistoricalBarsResponse__Output>): grpc.ClientUnaryCall;
  getHistoricalBars(argument: _ibbroker_v1_GetHistoricalBarsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_GetHistoricalBarsResponse__Output>): grpc.ClientUnaryCall;
  getHistoricalBars(argument: _ibbroker_v1_GetHistoricalBarsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetHistoricalBarsResponse__Output>): grpc.ClientUnaryCall;
  getHistoricalBars(argument: _ibbroker_v1_GetHistoricalBarsRequest, callback: grpc.requestCallback<_ibbroker_v1_GetHistoricalBarsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * GetMarketDataLines shows the IB lines in use, their subscribers and the budget.
   */
  GetMarketDataLines(argument: _ibbroker_v1_GetMarketDataLinesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetMarketDataLinesResponse__Output>): grpc.ClientUnaryCall;
  GetMarketDataLines(argument: _ibbroker_v1_GetMarketDataLinesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_GetMarketDataLinesResponse__Output>): grpc.ClientUnaryCall;
  GetMarketDataLines(argument: _ibbroker_v1_GetMarketDataLinesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetMarketDataLinesResponse__Output>): grpc.ClientUnaryCall;
  GetMarketDataLines(argument: _ibbroker_v1_GetMarketDataLinesRequest, callback: grpc.requestCallback<_ibbroker_v1_GetMarketDataLinesResponse__Output>): grpc.ClientUnaryCall;
  /**
   * GetMarketDataLines shows the IB lines in use, their subscribers and the budget.
   */
  getMarketDataLines(argument: _ibbroker_v1_GetMarketDataLinesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetMarketDataLinesResponse__Output>): grpc.ClientUnaryCall;
  getMarketDataLines(argument: _ibbroker_v1_GetMarketDataLinesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_GetMarketDataLinesResponse__Output>): grpc.ClientUnaryCall;
  getMarketDataLines(argument: _ibbroker_v1_GetMarketDataLinesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetMarketDataLinesResponse__Output>): grpc.ClientUnaryCall;
  getMarketDataLines(argument: _ibbroker_v1_GetMarketDataLinesRequest, callback: grpc.requestCallback<_ibbroker_v1_GetMarketDataLinesResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * GetPositions returns the positions of one account or of every managed account.
   */
  GetPositions(argument: _ibbroker_v1_GetPositionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetPositionsResponse__Output>): grpc.ClientUnaryCall;
  GetPositions(argument: _ibbroker_v1_GetPositionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_GetPositionsResponse__Output>): grpc.ClientUnaryCall;
  GetPositions(argument: _ibbroker_v1_GetPositionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetPositionsResponse__Output>): grpc.ClientUnaryCall;
  GetPositions(argument: _ibbroker_v1_GetPositionsRequest, callback: grpc.requestCallback<_ibbroker_v1_GetPositionsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * GetPositions returns the positions of one account or of every managed account.
   */
  getPositions(argument: _ibbroker_v1_GetPositionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetPositionsResponse__Output>): grpc.ClientUnaryCall;
  getPositions(argument: _ibbroker_v1_GetPositionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_GetPositionsResponse__Output>): grpc.ClientUnaryCall;
  getPositions(argument: _ibbroker_v1_GetPositionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_GetPositionsResponse__Output>): grpc.ClientUnaryCall;
  getPositions(argument: _ibbroker_v1_GetPositionsRequest, callback: grpc.requestCallback<_ibbroker_v1_GetPositionsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * ListCompletedOrders returns the day's filled, cancelled and rejected orders.
   */
  ListCompletedOrders(argument: _ibbroker_v1_ListCompletedOrdersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ListCompletedOrdersResponse__Output>): grpc.ClientUnaryCall;
  ListCompletedOrders(argument: _ibbroker_v1_ListCompletedOrdersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_ListCompletedOrdersResponse__Output>): grpc.ClientUnaryCall;
  ListCompletedOrders(argument: _ibbroker_v1_ListCompletedOrdersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ListCompletedOrdersResponse__Output>): grpc.ClientUnaryCall;
  ListCompletedOrders(argument: _ibbroker_v1_ListCompletedOrdersRequest, callback: grpc.requestCallback<_ibbroker_v1_ListCompletedOrdersResponse__Output>): grpc.ClientUnaryCall;
  /**
   * ListCompletedOrders returns the day's filled, cancelled and rejected orders.
   */
  listCompletedOrders(argument: _ibbroker_v1_ListCompletedOrdersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ListCompletedOrdersResponse__Output>): grpc.ClientUnaryCall;
  listCompletedOrders(argument: _ibbroker_v1_ListCompletedOrdersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_ListCompletedOrdersResponse__Output>): grpc.ClientUnaryCall;
  listCompletedOrders(argument: _ibbroker_v1_ListCompletedOrdersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ListCompletedOrdersResponse__Output>): grpc.ClientUnaryCall;
  listCompletedOrders(argument: _ibbroker_v1_ListCompletedOrdersRequest, callback: grpc.requestCallback<_ibbroker_v1_ListCompletedOrdersResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * ListExecutions returns the executions (with commissions) matching a filter.
   */
  ListExecutions(argument: _ibbroker_v1_ListExecutionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ListExecutionsResponse__Output>): grpc.ClientUnaryCall;
  ListExecutions(argument: _ibbroker_v1_ListExecutionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_ListExecutionsResponse__Output>): grpc.ClientUnaryCall;
  ListExecutions(argument: _ibbroker_v1_ListExecutionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ListExecutionsResponse__Output>): grpc.ClientUnaryCall;
  ListExecutions(argument: _ibbroker_v1_ListExecutionsRequest, callback: grpc.requestCallback<_ibbroker_v1_ListExecutionsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * ListExecutions returns the executions (with commissions) matching a filter.
   */
  listExecutions(argument: _ibbroker_v1_ListExecutionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ListExecutionsResponse__Output>): grpc.ClientUnaryCall;
  listExecutions(argument: _ibbroker_v1_ListExecutionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_ListExecutionsResponse__Output>): grpc.ClientUnaryCall;
  listExecutions(argument: _ibbroker_v1_ListExecutionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ListExecutionsResponse__Output>): grpc.ClientUnaryCall;
  listExecutions(argument: _ibbroker_v1_ListExecutionsRequest, callback: grpc.requestCallback<_ibbroker_v1_ListExecutionsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * ListOpenOrders returns the working orders: the caller's own unless all_owners is set.
   */
  ListOpenOrders(argument: _ibbroker_v1_ListOpenOrdersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ListOpenOrdersResponse__Output>): grpc.ClientUnaryCall;
  ListOpenOrders(argument: _ibbroker_v1_ListOpenOrdersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_ListOpenOrdersResponse__Output>): grpc.ClientUnaryCall;
  ListOpenOrders(argument: _ibbroker_v1_ListOpenOrdersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ListOpenOrdersResponse__Output>): grpc.ClientUnaryCall;
  ListOpenOrders(argument: _ibbroker_v1_ListOpenOrdersRequest, callback: grpc.requestCallback<_ibbroker_v1_ListOpenOrdersResponse__Output>): grpc.ClientUnaryCall;
  /**
   * ListOpenOrders returns the working orders: the caller's own unless all_owners is set.
   */
  listOpenOrders(argument: _ibbroker_v1_ListOpenOrdersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ListOpenOrdersResponse__Output>): grpc.ClientUnaryCall;
  listOpenOrders(argument: _ibbroker_v1_ListOpenOrdersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_ListOpenOrdersResponse__Output>): grpc.ClientUnaryCall;
  listOpenOrders(argument: _ibbroker_v1_ListOpenOrdersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ListOpenOrdersResponse__Output>): grpc.ClientUnaryCall;
  listOpenOrders(argument: _ibbroker_v1_ListOpenOrdersRequest, callback: grpc.requestCallback<_ibbroker_v1_ListOpenOrdersResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * ModifyOrder changes a working order's quantity, prices, time in force or outside_rth.
   */
  ModifyOrder(argument: _ibbroker_v1_ModifyOrderRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ModifyOrderResponse__Output>): grpc.ClientUnaryCall;
  ModifyOrder(argument: _ibbroker_v1_ModifyOrderRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_ModifyOrderResponse__Output>): grpc.ClientUnaryCall;
  ModifyOrder(argument: _ibbroker_v1_ModifyOrderRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ModifyOrderResponse__Output>): grpc.ClientUnaryCall;
  ModifyOrder(argument: _ibbroker_v1_ModifyOrderRequest, callback: grpc.requestCallback<_ibbroker_v1_ModifyOrderResponse__Output>): grpc.ClientUnaryCall;
  /**
   * ModifyOrder changes a working order's quantity, prices, time in force or outside_rth.
   */
  modifyOrder(argument: _ibbroker_v1_ModifyOrderRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ModifyOrderResponse__Output>): grpc.ClientUnaryCall;
  modifyOrder(argument: _ibbroker_v1_ModifyOrderRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_ModifyOrderResponse__Output>): grpc.ClientUnaryCall;
  modifyOrder(argument: _ibbroker_v1_ModifyOrderRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_ModifyOrderResponse__Output>): grpc.ClientUnaryCall;
  modifyOrder(argument: _ibbroker_v1_ModifyOrderRequest, callback: grpc.requestCallback<_ibbroker_v1_ModifyOrderResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * PlaceOrder places an order or a bracket, exactly once per idempotency key: a repeated key
   * returns the stored order in its current state; the same key with other parameters is
   * INVALID_ARGUMENT (IDEMPOTENCY_CONFLICT). UNAVAILABLE (breaker, reconnecting, OUTCOME_UNKNOWN)
   * means: retry with the same key.
   */
  PlaceOrder(argument: _ibbroker_v1_PlaceOrderRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_PlaceOrderResponse__Output>): grpc.ClientUnaryCall;
  PlaceOrder(argument: _ibbroker_v1_PlaceOrderRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_PlaceOrderResponse__Output>): grpc.ClientUnaryCall;
  PlaceOrder(argument: _ibbroker_v1_PlaceOrderRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_PlaceOrderResponse__Output>): grpc.ClientUnaryCall;
  PlaceOrder(argument: _ibbroker_v1_PlaceOrderRequest, callback: grpc.requestCallback<_ibbroker_v1_PlaceOrderResponse__Output>): grpc.ClientUnaryCall;
  /**
   * PlaceOrder places an order or a bracket, exactly once per idempotency key: a repeated key
   * returns the stored order in its current state; the same key with other parameters is
   * INVALID_ARGUMENT (IDEMPOTENCY_CONFLICT). UNAVAILABLE (breaker, reconnecting, OUTCOME_UNKNOWN)
   * means: retry with the same key.
   */
  placeOrder(argument: _ibbroker_v1_PlaceOrderRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_PlaceOrderResponse__Output>): grpc.ClientUnaryCall;
  placeOrder(argument: _ibbroker_v1_PlaceOrderRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ibbroker_v1_PlaceOrderResponse__Output>): grpc.ClientUnaryCall;
  placeOrder(argument: _ibbroker_v1_PlaceOrderRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ibbroker_v1_PlaceOrderResponse__Output>): grpc.ClientUnaryCall;
  placeOrder(argument: _ibbroker_v1_PlaceOrderRequest, callback: grpc.requestCallback<_ibbroker_v1_PlaceOrderResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * WatchMarketData streams one instrument's quote: SNAPSHOT first, then UPDATEs (conflated for
   * a slow reader), GAP and a fresh SNAPSHOT after an outage, FINAL on shutdown. One IB line per
   * (gateway, instrument, type) serves every subscriber; a subscription beyond the gateway's
   * line budget is RESOURCE_EXHAUSTED (MARKET_DATA_LINES_EXHAUSTED) before IB says 101.
   */
  WatchMarketData(argument: _ibbroker_v1_WatchMarketDataRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ibbroker_v1_WatchMarketDataResponse__Output>;
  WatchMarketData(argument: _ibbroker_v1_WatchMarketDataRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ibbroker_v1_WatchMarketDataResponse__Output>;
  /**
   * WatchMarketData streams one instrument's quote: SNAPSHOT first, then UPDATEs (conflated for
   * a slow reader), GAP and a fresh SNAPSHOT after an outage, FINAL on shutdown. One IB line per
   * (gateway, instrument, type) serves every subscriber; a subscription beyond the gateway's
   * line budget is RESOURCE_EXHAUSTED (MARKET_DATA_LINES_EXHAUSTED) before IB says 101.
   */
  watchMarketData(argument: _ibbroker_v1_WatchMarketDataRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ibbroker_v1_WatchMarketDataResponse__Output>;
  watchMarketData(argument: _ibbroker_v1_WatchMarketDataRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ibbroker_v1_WatchMarketDataResponse__Output>;
  
  /**
   * WatchOrderEvents streams one SNAPSHOT event per open order, SNAPSHOT_END, then every state
   * change, modification, fill and commission; GAP where the stream could not be continuous;
   * FINAL on shutdown. Resumable by sequence number.
   */
  WatchOrderEvents(argument: _ibbroker_v1_WatchOrderEventsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ibbroker_v1_WatchOrderEventsResponse__Output>;
  WatchOrderEvents(argument: _ibbroker_v1_WatchOrderEventsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ibbroker_v1_WatchOrderEventsResponse__Output>;
  /**
   * WatchOrderEvents streams one SNAPSHOT event per open order, SNAPSHOT_END, then every state
   * change, modification, fill and commission; GAP where the stream could not be continuous;
   * FINAL on shutdown. Resumable by sequence number.
   */
  watchOrderEvents(argument: _ibbroker_v1_WatchOrderEventsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ibbroker_v1_WatchOrderEventsResponse__Output>;
  watchOrderEvents(argument: _ibbroker_v1_WatchOrderEventsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ibbroker_v1_WatchOrderEventsResponse__Output>;
  
}

/**
 * TradingService proxies orders, positions, account and contract queries through the broker's
 * pooled IB sessions. Orders go through the caller's PROXIED lease and happen exactly once:
 * PlaceOrder is journaled durably under its idempotency key before anything reaches IB, and an
 * unknown outcome is reconciled from IB by orderRef, never resent blindly. Read-only calls need
 * no lease. Every call passes the gateway's circuit breaker and the per-session pacing governor
 * (cancels before orders before reads); see docs/trading.md.
 */
export interface TradingServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * CancelOrder cancels a working order; cancelling an already cancelled order returns it.
   */
  CancelOrder: grpc.handleUnaryCall<_ibbroker_v1_CancelOrderRequest__Output, _ibbroker_v1_CancelOrderResponse>;
  
  /**
   * GetAccountSummary returns account summary tags of one account or of every managed account.
   */
  GetAccountSummary: grpc.handleUnaryCall<_ibbroker_v1_GetAccountSummaryRequest__Output, _ibbroker_v1_GetAccountSummaryResponse>;
  
  /**
   * GetContractDetails resolves a contract query. An ambiguous query is INVALID_ARGUMENT
   * (CONTRACT_AMBIGUOUS, naming the candidates) unless list_all is set; no match is NOT_FOUND
   * (CONTRACT_NOT_FOUND, IB code 200 in the metadata).
   */
  GetContractDetails: grpc.handleUnaryCall<_ibbroker_v1_GetContractDetailsRequest__Output, _ibbroker_v1_GetContractDetailsResponse>;
  
  /**
   * GetCurrentTime returns TWS's clock: the cheapest round trip to the gateway.
   */
  GetCurrentTime: grpc.handleUnaryCall<_ibbroker_v1_GetCurrentTimeRequest__Output, _ibbroker_v1_GetCurrentTimeResponse>;
  
  /**
   * GetHistoricalBars returns historical bars, with IB's historical pacing rules enforced by
   * the broker (queued within the caller's deadline, else RESOURCE_EXHAUSTED PACING).
   */
  GetHistoricalBars: grpc.handleUnaryCall<_ibbroker_v1_GetHistoricalBarsRequest__Output, _ibbroker_v1_GetHistoricalBarsResponse>;
  
  /**
   * GetMarketDataLines shows the IB lines in use, their subscribers and the budget.
   */
  GetMarketDataLines: grpc.handleUnaryCall<_ibbroker_v1_GetMarketDataLinesRequest__Output, _ibbroker_v1_GetMarketDataLinesResponse>;
  
  /**
   * GetPositions returns the positions of one account or of every managed account.
   */
  GetPositions: grpc.handleUnaryCall<_ibbroker_v1_GetPositionsRequest__Output, _ibbroker_v1_GetPositionsResponse>;
  
  /**
   * ListCompletedOrders returns the day's filled, cancelled and rejected orders.
   */
  ListCompletedOrders: grpc.handleUnaryCall<_ibbroker_v1_ListCompletedOrdersRequest__Output, _ibbroker_v1_ListCompletedOrdersResponse>;
  
  /**
   * ListExecutions returns the executions (with commissions) matching a filter.
   */
  ListExecutions: grpc.handleUnaryCall<_ibbroker_v1_ListExecutionsRequest__Output, _ibbroker_v1_ListExecutionsResponse>;
  
  /**
   * ListOpenOrders returns the working orders: the caller's own unless all_owners is set.
   */
  ListOpenOrders: grpc.handleUnaryCall<_ibbroker_v1_ListOpenOrdersRequest__Output, _ibbroker_v1_ListOpenOrdersResponse>;
  
  /**
   * ModifyOrder changes a working order's quantity, prices, time in force or outside_rth.
   */
  ModifyOrder: grpc.handleUnaryCall<_ibbroker_v1_ModifyOrderRequest__Output, _ibbroker_v1_ModifyOrderResponse>;
  
  /**
   * PlaceOrder places an order or a bracket, exactly once per idempotency key: a repeated key
   * returns the stored order in its current state; the same key with other parameters is
   * INVALID_ARGUMENT (IDEMPOTENCY_CONFLICT). UNAVAILABLE (breaker, reconnecting, OUTCOME_UNKNOWN)
   * means: retry with the same key.
   */
  PlaceOrder: grpc.handleUnaryCall<_ibbroker_v1_PlaceOrderRequest__Output, _ibbroker_v1_PlaceOrderResponse>;
  
  /**
   * WatchMarketData streams one instrument's quote: SNAPSHOT first, then UPDATEs (conflated for
   * a slow reader), GAP and a fresh SNAPSHOT after an outage, FINAL on shutdown. One IB line per
   * (gateway, instrument, type) serves every subscriber; a subscription beyond the gateway's
   * line budget is RESOURCE_EXHAUSTED (MARKET_DATA_LINES_EXHAUSTED) before IB says 101.
   */
  WatchMarketData: grpc.handleServerStreamingCall<_ibbroker_v1_WatchMarketDataRequest__Output, _ibbroker_v1_WatchMarketDataResponse>;
  
  /**
   * WatchOrderEvents streams one SNAPSHOT event per open order, SNAPSHOT_END, then every state
   * change, modification, fill and commission; GAP where the stream could not be continuous;
   * FINAL on shutdown. Resumable by sequence number.
   */
  WatchOrderEvents: grpc.handleServerStreamingCall<_ibbroker_v1_WatchOrderEventsRequest__Output, _ibbroker_v1_WatchOrderEventsResponse>;
  
}

export interface TradingServiceDefinition extends grpc.ServiceDefinition {
  CancelOrder: MethodDefinition<_ibbroker_v1_CancelOrderRequest, _ibbroker_v1_CancelOrderResponse, _ibbroker_v1_CancelOrderRequest__Output, _ibbroker_v1_CancelOrderResponse__Output>
  GetAccountSummary: MethodDefinition<_ibbroker_v1_GetAccountSummaryRequest, _ibbroker_v1_GetAccountSummaryResponse, _ibbroker_v1_GetAccountSummaryRequest__Output, _ibbroker_v1_GetAccountSummaryResponse__Output>
  GetContractDetails: MethodDefinition<_ibbroker_v1_GetContractDetailsRequest, _ibbroker_v1_GetContractDetailsResponse, _ibbroker_v1_GetContractDetailsRequest__Output, _ibbroker_v1_GetContractDetailsResponse__Output>
  GetCurrentTime: MethodDefinition<_ibbroker_v1_GetCurrentTimeRequest, _ibbroker_v1_GetCurrentTimeResponse, _ibbroker_v1_GetCurrentTimeRequest__Output, _ibbroker_v1_GetCurrentTimeResponse__Output>
  GetHistoricalBars: MethodDefinition<_ibbroker_v1_GetHistoricalBarsRequest, _ibbroker_v1_GetHistoricalBarsResponse, _ibbroker_v1_GetHistoricalBarsRequest__Output, _ibbroker_v1_GetHistoricalBarsResponse__Output>
  GetMarketDataLines: MethodDefinition<_ibbroker_v1_GetMarketDataLinesRequest, _ibbroker_v1_GetMarketDataLinesResponse, _ibbroker_v1_GetMarketDataLinesRequest__Output, _ibbroker_v1_GetMarketDataLinesResponse__Output>
  GetPositions: MethodDefinition<_ibbroker_v1_GetPositionsRequest, _ibbroker_v1_GetPositionsResponse, _ibbroker_v1_GetPositionsRequest__Output, _ibbroker_v1_GetPositionsResponse__Output>
  ListCompletedOrders: MethodDefinition<_ibbroker_v1_ListCompletedOrdersRequest, _ibbroker_v1_ListCompletedOrdersResponse, _ibbroker_v1_ListCompletedOrdersRequest__Output, _ibbroker_v1_ListCompletedOrdersResponse__Output>
  ListExecutions: MethodDefinition<_ibbroker_v1_ListExecutionsRequest, _ibbroker_v1_ListExecutionsResponse, _ibbroker_v1_ListExecutionsRequest__Output, _ibbroker_v1_ListExecutionsResponse__Output>
  ListOpenOrders: MethodDefinition<_ibbroker_v1_ListOpenOrdersRequest, _ibbroker_v1_ListOpenOrdersResponse, _ibbroker_v1_ListOpenOrdersRequest__Output, _ibbroker_v1_ListOpenOrdersResponse__Output>
  ModifyOrder: MethodDefinition<_ibbroker_v1_ModifyOrderRequest, _ibbroker_v1_ModifyOrderResponse, _ibbroker_v1_ModifyOrderRequest__Output, _ibbroker_v1_ModifyOrderResponse__Output>
  PlaceOrder: MethodDefinition<_ibbroker_v1_PlaceOrderRequest, _ibbroker_v1_PlaceOrderResponse, _ibbroker_v1_PlaceOrderRequest__Output, _ibbroker_v1_PlaceOrderResponse__Output>
  WatchMarketData: MethodDefinition<_ibbroker_v1_WatchMarketDataRequest, _ibbroker_v1_WatchMarketDataResponse, _ibbroker_v1_WatchMarketDataRequest__Output, _ibbroker_v1_WatchMarketDataResponse__Output>
  WatchOrderEvents: MethodDefinition<_ibbroker_v1_WatchOrderEventsRequest, _ibbroker_v1_WatchOrderEventsResponse, _ibbroker_v1_WatchOrderEventsRequest__Output, _ibbroker_v1_WatchOrderEventsResponse__Output>
}
