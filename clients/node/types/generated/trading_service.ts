import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from './google/protobuf/Timestamp';
import type { AccountValue as _ibbroker_v1_AccountValue, AccountValue__Output as _ibbroker_v1_AccountValue__Output } from './ibbroker/v1/AccountValue';
import type { Bar as _ibbroker_v1_Bar, Bar__Output as _ibbroker_v1_Bar__Output } from './ibbroker/v1/Bar';
import type { BracketOrder as _ibbroker_v1_BracketOrder, BracketOrder__Output as _ibbroker_v1_BracketOrder__Output } from './ibbroker/v1/BracketOrder';
import type { CancelOrderRequest as _ibbroker_v1_CancelOrderRequest, CancelOrderRequest__Output as _ibbroker_v1_CancelOrderRequest__Output } from './ibbroker/v1/CancelOrderRequest';
import type { CancelOrderResponse as _ibbroker_v1_CancelOrderResponse, CancelOrderResponse__Output as _ibbroker_v1_CancelOrderResponse__Output } from './ibbroker/v1/CancelOrderResponse';
import type { Contract as _ibbroker_v1_Contract, Contract__Output as _ibbroker_v1_Contract__Output } from './ibbroker/v1/Contract';
import type { ContractDetails as _ibbroker_v1_ContractDetails, ContractDetails__Output as _ibbroker_v1_ContractDetails__Output } from './ibbroker/v1/ContractDetails';
import type { Execution as _ibbroker_v1_Execution, Execution__Output as _ibbroker_v1_Execution__Output } from './ibbroker/v1/Execution';
import type { GetAccountSummaryRequest as _ibbroker_v1_GetAccountSummaryRequest, GetAccountSummaryRequest__Output as _ibbroker_v1_GetAccountSummaryRequest__Output } from './ibbroker/v1/GetAccountSummaryRequest';
import type { GetAccountSummaryResponse as _ibbroker_v1_GetAccountSummaryResponse, GetAccountSummaryResponse__Output as _ibbroker_v1_GetAccountSummaryResponse__Output } from './ibbroker/v1/GetAccountSummaryResponse';
import type { GetContractDetailsRequest as _ibbroker_v1_GetContractDetailsRequest, GetContractDetailsRequest__Output as _ibbroker_v1_GetContractDetailsRequest__Output } from './ibbroker/v1/GetContractDetailsRequest';
import type { GetContractDetailsResponse as _ibbroker_v1_GetContractDetailsResponse, GetContractDetailsResponse__Output as _ibbroker_v1_GetContractDetailsResponse__Output } from './ibbroker/v1/GetContractDetailsResponse';
import type { GetCurrentTimeRequest as _ibbroker_v1_GetCurrentTimeRequest, GetCurrentTimeRequest__Output as _ibbroker_v1_GetCurrentTimeRequest__Output } from './ibbroker/v1/GetCurrentTimeRequest';
import type { GetCurrentTimeResponse as _ibbroker_v1_GetCurrentTimeResponse, GetCurrentTimeResponse__Output as _ibbroker_v1_GetCurrentTimeResponse__Output } from './ibbroker/v1/GetCurrentTimeResponse';
import type { GetHistoricalBarsRequest as _ibbroker_v1_GetHistoricalBarsRequest, GetHistoricalBarsRequest__Output as _ibbroker_v1_GetHistoricalBarsRequest__Output } from './ibbroker/v1/GetHistoricalBarsRequest';
import type { GetHistoricalBarsResponse as _ibbroker_v1_GetHistoricalBarsResponse, GetHistoricalBarsResponse__Output as _ibbroker_v1_GetHistoricalBarsResponse__Output } from './ibbroker/v1/GetHistoricalBarsResponse';
import type { GetMarketDataLinesRequest as _ibbroker_v1_GetMarketDataLinesRequest, GetMarketDataLinesRequest__Output as _ibbroker_v1_GetMarketDataLinesRequest__Output } from './ibbroker/v1/GetMarketDataLinesRequest';
import type { GetMarketDataLinesResponse as _ibbroker_v1_GetMarketDataLinesResponse, GetMarketDataLinesResponse__Output as _ibbroker_v1_GetMarketDataLinesResponse__Output } from './ibbroker/v1/GetMarketDataLinesResponse';
import type { GetPositionsRequest as _ibbroker_v1_GetPositionsRequest, GetPositionsRequest__Output as _ibbroker_v1_GetPositionsRequest__Output } from './ibbroker/v1/GetPositionsRequest';
import type { GetPositionsResponse as _ibbroker_v1_GetPositionsResponse, GetPositionsResponse__Output as _ibbroker_v1_GetPositionsResponse__Output } from './ibbroker/v1/GetPositionsResponse';
import type { ListCompletedOrdersRequest as _ibbroker_v1_ListCompletedOrdersRequest, ListCompletedOrdersRequest__Output as _ibbroker_v1_ListCompletedOrdersRequest__Output } from './ibbroker/v1/ListCompletedOrdersRequest';
import type { ListCompletedOrdersResponse as _ibbroker_v1_ListCompletedOrdersResponse, ListCompletedOrdersResponse__Output as _ibbroker_v1_ListCompletedOrdersResponse__Output } from './ibbroker/v1/ListCompletedOrdersResponse';
import type { ListExecutionsRequest as _ibbroker_v1_ListExecutionsRequest, ListExecutionsRequest__Output as _ibbroker_v1_ListExecutionsRequest__Output } from './ibbroker/v1/ListExecutionsRequest';
import type { ListExecutionsResponse as _ibbroker_v1_ListExecutionsResponse, ListExecutionsResponse__Output as _ibbroker_v1_ListExecutionsResponse__Output } from './ibbroker/v1/ListExecutionsResponse';
import type { ListOpenOrdersRequest as _ibbroker_v1_ListOpenOrdersRequest, ListOpenOrdersRequest__Output as _ibbroker_v1_ListOpenOrdersRequest__Output } from './ibbroker/v1/ListOpenOrdersRequest';
import type { ListOpenOrdersResponse as _ibbroker_v1_ListOpenOrdersResponse, ListOpenOrdersResponse__Output as _ibbroker_v1_ListOpenOrdersResponse__Output } from './ibbroker/v1/ListOpenOrdersResponse';
import type { MarketDataEvent as _ibbroker_v1_MarketDataEvent, MarketDataEvent__Output as _ibbroker_v1_MarketDataEvent__Output } from './ibbroker/v1/MarketDataEvent';
import type { MarketDataLine as _ibbroker_v1_MarketDataLine, MarketDataLine__Output as _ibbroker_v1_MarketDataLine__Output } from './ibbroker/v1/MarketDataLine';
import type { ModifyOrderRequest as _ibbroker_v1_ModifyOrderRequest, ModifyOrderRequest__Output as _ibbroker_v1_ModifyOrderRequest__Output } from './ibbroker/v1/ModifyOrderRequest';
import type { ModifyOrderResponse as _ibbroker_v1_ModifyOrderResponse, ModifyOrderResponse__Output as _ibbroker_v1_ModifyOrderResponse__Output } from './ibbroker/v1/ModifyOrderResponse';
import type { Order as _ibbroker_v1_Order, Order__Output as _ibbroker_v1_Order__Output } from './ibbroker/v1/Order';
import type { OrderEvent as _ibbroker_v1_OrderEvent, OrderEvent__Output as _ibbroker_v1_OrderEvent__Output } from './ibbroker/v1/OrderEvent';
import type { OrderSelector as _ibbroker_v1_OrderSelector, OrderSelector__Output as _ibbroker_v1_OrderSelector__Output } from './ibbroker/v1/OrderSelector';
import type { OrderSpec as _ibbroker_v1_OrderSpec, OrderSpec__Output as _ibbroker_v1_OrderSpec__Output } from './ibbroker/v1/OrderSpec';
import type { PlaceOrderRequest as _ibbroker_v1_PlaceOrderRequest, PlaceOrderRequest__Output as _ibbroker_v1_PlaceOrderRequest__Output } from './ibbroker/v1/PlaceOrderRequest';
import type { PlaceOrderResponse as _ibbroker_v1_PlaceOrderResponse, PlaceOrderResponse__Output as _ibbroker_v1_PlaceOrderResponse__Output } from './ibbroker/v1/PlaceOrderResponse';
import type { Position as _ibbroker_v1_Position, Position__Output as _ibbroker_v1_Position__Output } from './ibbroker/v1/Position';
import type { Quote as _ibbroker_v1_Quote, Quote__Output as _ibbroker_v1_Quote__Output } from './ibbroker/v1/Quote';
import type { TradingServiceClient as _ibbroker_v1_TradingServiceClient, TradingServiceDefinition as _ibbroker_v1_TradingServiceDefinition } from './ibbroker/v1/TradingService';
import type { WatchMarketDataRequest as _ibbroker_v1_WatchMarketDataRequest, WatchMarketDataRequest__Output as _ibbroker_v1_WatchMarketDataRequest__Output } from './ibbroker/v1/WatchMarketDataRequest';
import type { WatchMarketDataResponse as _ibbroker_v1_WatchMarketDataResponse, WatchMarketDataResponse__Output as _ibbroker_v1_WatchMarketDataResponse__Output } from './ibbroker/v1/WatchMarketDataResponse';
import type { WatchOrderEventsRequest as _ibbroker_v1_WatchOrderEventsRequest, WatchOrderEventsRequest__Output as _ibbroker_v1_WatchOrderEventsRequest__Output } from './ibbroker/v1/WatchOrderEventsRequest';
import type { WatchOrderEventsResponse as _ibbroker_v1_WatchOrderEventsResponse, WatchOrderEventsResponse__Output as _ibbroker_v1_WatchOrderEventsResponse__Output } from './ibbroker/v1/WatchOrderEventsResponse';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  google: {
    protobuf: {
      Timestamp: MessageTypeDefinition<_google_protobuf_Timestamp, _google_protobuf_Timestamp__Output>
    }
  }
  ibbroker: {
    v1: {
      AccountValue: MessageTypeDefinition<_ibbroker_v1_AccountValue, _ibbroker_v1_AccountValue__Output>
      Bar: MessageTypeDefinition<_ibbroker_v1_Bar, _ibbroker_v1_Bar__Output>
      BarSize: EnumTypeDefinition
      BracketOrder: MessageTypeDefinition<_ibbroker_v1_BracketOrder, _ibbroker_v1_BracketOrder__Output>
      BracketRole: EnumTypeDefinition
      CancelOrderRequest: MessageTypeDefinition<_ibbroker_v1_CancelOrderRequest, _ibbroker_v1_CancelOrderRequest__Output>
      CancelOrderResponse: MessageTypeDefinition<_ibbroker_v1_CancelOrderResponse, _ibbroker_v1_CancelOrderResponse__Output>
      Contract: MessageTypeDefinition<_ibbroker_v1_Contract, _ibbroker_v1_Contract__Output>
      ContractDetails: MessageTypeDefinition<_ibbroker_v1_ContractDetails, _ibbroker_v1_ContractDetails__Output>
      Execution: MessageTypeDefinition<_ibbroker_v1_Execution, _ibbroker_v1_Execution__Output>
      GetAccountSummaryRequest: MessageTypeDefinition<_ibbroker_v1_GetAccountSummaryRequest, _ibbroker_v1_GetAccountSummaryRequest__Output>
      GetAccountSummaryResponse: MessageTypeDefinition<_ibbroker_v1_GetAccountSummaryResponse, _ibbroker_v1_GetAccountSummaryResponse__Output>
      GetContractDetailsRequest: MessageTypeDefinition<_ibbroker_v1_GetContractDetailsRequest, _ibbroker_v1_GetContractDetailsRequest__Output>
      GetContractDetailsResponse: MessageTypeDefinition<_ibbroker_v1_GetContractDetailsResponse, _ibbroker_v1_GetContractDetailsResponse__Output>
      GetCurrentTimeRequest: MessageTypeDefinition<_ibbroker_v1_GetCurrentTimeRequest, _ibbroker_v1_GetCurrentTimeRequest__Output>
      GetCurrentTimeResponse: MessageTypeDefinition<_ibbroker_v1_GetCurrentTimeResponse, _ibbroker_v1_GetCurrentTimeResponse__Output>
      GetHistoricalBarsRequest: MessageTypeDefinition<_ibbroker_v1_GetHistoricalBarsRequest, _ibbroker_v1_GetHistoricalBarsRequest__Output>
      GetHistoricalBarsResponse: MessageTypeDefinition<_ibbroker_v1_GetHistoricalBarsResponse, _ibbroker_v1_GetHistoricalBarsResponse__Output>
      GetMarketDataLinesRequest: MessageTypeDefinition<_ibbroker_v1_GetMarketDataLinesRequest, _ibbroker_v1_GetMarketDataLinesRequest__Output>
      GetMarketDataLinesResponse: MessageTypeDefinition<_ibbroker_v1_GetMarketDataLinesResponse, _ibbroker_v1_GetMarketDataLinesResponse__Output>
      GetPositionsRequest: MessageTypeDefinition<_ibbroker_v1_GetPositionsRequest, _ibbroker_v1_GetPositionsRequest__Output>
      GetPositionsResponse: MessageTypeDefinition<_ibbroker_v1_GetPositionsResponse, _ibbroker_v1_GetPositionsResponse__Output>
      ListCompletedOrdersRequest: MessageTypeDefinition<_ibbroker_v1_ListCompletedOrdersRequest, _ibbroker_v1_ListCompletedOrdersRequest__Output>
      ListCompletedOrdersResponse: MessageTypeDefinition<_ibbroker_v1_ListCompletedOrdersResponse, _ibbroker_v1_ListCompletedOrdersResponse__Output>
      ListExecutionsRequest: MessageTypeDefinition<_ibbroker_v1_ListExecutionsRequest, _ibbroker_v1_ListExecutionsRequest__Output>
      ListExecutionsResponse: MessageTypeDefinition<_ibbroker_v1_ListExecutionsResponse, _ibbroker_v1_ListExecutionsResponse__Output>
      ListOpenOrdersRequest: MessageTypeDefinition<_ibbroker_v1_ListOpenOrdersRequest, _ibbroker_v1_ListOpenOrdersRequest__Output>
      ListOpenOrdersResponse: MessageTypeDefinition<_ibbroker_v1_ListOpenOrdersResponse, _ibbroker_v1_ListOpenOrdersResponse__Output>
      MarketDataEvent: MessageTypeDefinition<_ibbroker_v1_MarketDataEvent, _ibbroker_v1_MarketDataEvent__Output>
      MarketDataEventKind: EnumTypeDefinition
      MarketDataField: EnumTypeDefinition
      MarketDataLine: MessageTypeDefinition<_ibbroker_v1_MarketDataLine, _ibbroker_v1_MarketDataLine__Output>
      MarketDataType: EnumTypeDefinition
      ModifyOrderRequest: MessageTypeDefinition<_ibbroker_v1_ModifyOrderRequest, _ibbroker_v1_ModifyOrderRequest__Output>
      ModifyOrderResponse: MessageTypeDefinition<_ibbroker_v1_ModifyOrderResponse, _ibbroker_v1_ModifyOrderResponse__Output>
      OptionRight: EnumTypeDefinition
      Order: MessageTypeDefinition<_ibbroker_v1_Order, _ibbroker_v1_Order__Output>
      OrderEvent: MessageTypeDefinition<_ibbroker_v1_OrderEvent, _ibbroker_v1_OrderEvent__Output>
      OrderEventKind: EnumTypeDefinition
      OrderSelector: MessageTypeDefinition<_ibbroker_v1_OrderSelector, _ibbroker_v1_OrderSelector__Output>
      OrderSide: EnumTypeDefinition
      OrderSpec: MessageTypeDefinition<_ibbroker_v1_OrderSpec, _ibbroker_v1_OrderSpec__Output>
      OrderState: EnumTypeDefinition
      OrderType: EnumTypeDefinition
      PlaceOrderRequest: MessageTypeDefinition<_ibbroker_v1_PlaceOrderRequest, _ibbroker_v1_PlaceOrderRequest__Output>
      PlaceOrderResponse: MessageTypeDefinition<_ibbroker_v1_PlaceOrderResponse, _ibbroker_v1_PlaceOrderResponse__Output>
      Position: MessageTypeDefinition<_ibbroker_v1_Position, _ibbroker_v1_Position__Output>
      Quote: MessageTypeDefinition<_ibbroker_v1_Quote, _ibbroker_v1_Quote__Output>
      SecurityType: EnumTypeDefinition
      TimeInForce: EnumTypeDefinition
      /**
       * TradingService proxies orders, positions, account and contract queries through the broker's
       * pooled IB sessions. Orders go through the caller's PROXIED lease and happen exactly once:
       * PlaceOrder is journaled durably under its idempotency key before anything reaches IB, and an
       * unknown outcome is reconciled from IB by orderRef, never resent blindly. Read-only calls need
       * no lease. Every call passes the gateway's circuit breaker and the per-session pacing governor
       * (cancels before orders before reads); see docs/trading.md.
       */
      TradingService: SubtypeConstructor<typeof grpc.Client, _ibbroker_v1_TradingServiceClient> & { service: _ibbroker_v1_TradingServiceDefinition }
      WatchMarketDataRequest: MessageTypeDefinition<_ibbroker_v1_WatchMarketDataRequest, _ibbroker_v1_WatchMarketDataRequest__Output>
      WatchMarketDataResponse: MessageTypeDefinition<_ibbroker_v1_WatchMarketDataResponse, _ibbroker_v1_WatchMarketDataResponse__Output>
      WatchOrderEventsRequest: MessageTypeDefinition<_ibbroker_v1_WatchOrderEventsRequest, _ibbroker_v1_WatchOrderEventsRequest__Output>
      WatchOrderEventsResponse: MessageTypeDefinition<_ibbroker_v1_WatchOrderEventsResponse, _ibbroker_v1_WatchOrderEventsResponse__Output>
      WhatToShow: EnumTypeDefinition
    }
  }
}

