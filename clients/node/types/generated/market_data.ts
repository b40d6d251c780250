import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from './google/protobuf/Timestamp';
import type { AccountValue as _ibbroker_v1_AccountValue, AccountValue__Output as _ibbroker_v1_AccountValue__Output } from './ibbroker/v1/AccountValue';
import type { Bar as _ibbroker_v1_Bar, Bar__Output as _ibbroker_v1_Bar__Output } from './ibbroker/v1/Bar';
import type { BracketOrder as _ibbroker_v1_BracketOrder, BracketOrder__Output as _ibbroker_v1_BracketOrder__Output } from './ibbroker/v1/BracketOrder';
import type { Contract as _ibbroker_v1_Contract, Contract__Output as _ibbroker_v1_Contract__Output } from './ibbroker/v1/Contract';
import type { ContractDetails as _ibbroker_v1_ContractDetails, ContractDetails__Output as _ibbroker_v1_ContractDetails__Output } from './ibbroker/v1/ContractDetails';
import type { Execution as _ibbroker_v1_Execution, Execution__Output as _ibbroker_v1_Execution__Output } from './ibbroker/v1/Execution';
import type { MarketDataEvent as _ibbroker_v1_MarketDataEvent, MarketDataEvent__Output as _ibbroker_v1_MarketDataEvent__Output } from './ibbroker/v1/MarketDataEvent';
import type { MarketDataLine as _ibbroker_v1_MarketDataLine, MarketDataLine__Output as _ibbroker_v1_MarketDataLine__Output } from './ibbroker/v1/MarketDataLine';
import type { Order as _ibbroker_v1_Order, Order__Output as _ibbroker_v1_Order__Output } from './ibbroker/v1/Order';
import type { OrderEvent as _ibbroker_v1_OrderEvent, OrderEvent__Output as _ibbroker_v1_OrderEvent__Output } from './ibbroker/v1/OrderEvent';
import type { OrderSpec as _ibbroker_v1_OrderSpec, OrderSpec__Output as _ibbroker_v1_OrderSpec__Output } from './ibbroker/v1/OrderSpec';
import type { Position as _ibbroker_v1_Position, Position__Output as _ibbroker_v1_Position__Output } from './ibbroker/v1/Position';
import type { Quote as _ibbroker_v1_Quote, Quote__Output as _ibbroker_v1_Quote__Output } from './ibbroker/v1/Quote';

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
      Contract: MessageTypeDefinition<_ibbroker_v1_Contract, _ibbroker_v1_Contract__Output>
      ContractDetails: MessageTypeDefinition<_ibbroker_v1_ContractDetails, _ibbroker_v1_ContractDetails__Output>
      Execution: MessageTypeDefinition<_ibbroker_v1_Execution, _ibbroker_v1_Execution__Output>
      MarketDataEvent: MessageTypeDefinition<_ibbroker_v1_MarketDataEvent, _ibbroker_v1_MarketDataEvent__Output>
      MarketDataEventKind: EnumTypeDefinition
      MarketDataField: EnumTypeDefinition
      MarketDataLine: MessageTypeDefinition<_ibbroker_v1_MarketDataLine, _ibbroker_v1_MarketDataLine__Output>
      MarketDataType: EnumTypeDefinition
      OptionRight: EnumTypeDefinition
      Order: MessageTypeDefinition<_ibbroker_v1_Order, _ibbroker_v1_Order__Output>
      OrderEvent: MessageTypeDefinition<_ibbroker_v1_OrderEvent, _ibbroker_v1_OrderEvent__Output>
      OrderEventKind: EnumTypeDefinition
      OrderSide: EnumTypeDefinition
      OrderSpec: MessageTypeDefinition<_ibbroker_v1_OrderSpec, _ibbroker_v1_OrderSpec__Output>
      OrderState: EnumTypeDefinition
      OrderType: EnumTypeDefinition
      Position: MessageTypeDefinition<_ibbroker_v1_Position, _ibbroker_v1_Position__Output>
      Quote: MessageTypeDefinition<_ibbroker_v1_Quote, _ibbroker_v1_Quote__Output>
      SecurityType: EnumTypeDefinition
      TimeInForce: EnumTypeDefinition
      WhatToShow: EnumTypeDefinition
    }
  }
}

