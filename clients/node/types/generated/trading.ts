import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from './google/protobuf/Timestamp';
import type { AccountValue as _ibbroker_v1_AccountValue, AccountValue__Output as _ibbroker_v1_AccountValue__Output } from './ibbroker/v1/AccountValue';
import type { BracketOrder as _ibbroker_v1_BracketOrder, BracketOrder__Output as _ibbroker_v1_BracketOrder__Output } from './ibbroker/v1/BracketOrder';
import type { Contract as _ibbroker_v1_Contract, Contract__Output as _ibbroker_v1_Contract__Output } from './ibbroker/v1/Contract';
import type { ContractDetails as _ibbroker_v1_ContractDetails, ContractDetails__Output as _ibbroker_v1_ContractDetails__Output } from './ibbroker/v1/ContractDetails';
import type { Execution as _ibbroker_v1_Execution, Execution__Output as _ibbroker_v1_Execution__Output } from './ibbroker/v1/Execution';
import type { Order as _ibbroker_v1_Order, Order__Output as _ibbroker_v1_Order__Output } from './ibbroker/v1/Order';
import type { OrderEvent as _ibbroker_v1_OrderEvent, OrderEvent__Output as _ibbroker_v1_OrderEvent__Output } from './ibbroker/v1/OrderEvent';
import type { OrderSpec as _ibbroker_v1_OrderSpec, OrderSpec__Output as _ibbroker_v1_OrderSpec__Output } from './ibbroker/v1/OrderSpec';
import type { Position as _ibbroker_v1_Position, Position__Output as _ibbroker_v1_Position__Output } from './ibbroker/v1/Position';

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
      BracketOrder: MessageTypeDefinition<_ibbroker_v1_BracketOrder, _ibbroker_v1_BracketOrder__Output>
      BracketRole: EnumTypeDefinition
      Contract: MessageTypeDefinition<_ibbroker_v1_Contract, _ibbroker_v1_Contract__Output>
      ContractDetails: MessageTypeDefinition<_ibbroker_v1_ContractDetails, _ibbroker_v1_ContractDetails__Output>
      Execution: MessageTypeDefinition<_ibbroker_v1_Execution, _ibbroker_v1_Execution__Output>
      OptionRight: EnumTypeDefinition
      Order: MessageTypeDefinition<_ibbroker_v1_Order, _ibbroker_v1_Order__Output>
      OrderEvent: MessageTypeDefinition<_ibbroker_v1_OrderEvent, _ibbroker_v1_OrderEvent__Output>
      OrderEventKind: EnumTypeDefinition
      OrderSide: EnumTypeDefinition
      OrderSpec: MessageTypeDefinition<_ibbroker_v1_OrderSpec, _ibbroker_v1_OrderSpec__Output>
      OrderState: EnumTypeDefinition
      OrderType: EnumTypeDefinition
      Position: MessageTypeDefinition<_ibbroker_v1_Position, _ibbroker_v1_Position__Output>
      SecurityType: EnumTypeDefinition
      TimeInForce: EnumTypeDefinition
    }
  }
}

