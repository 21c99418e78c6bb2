/**
 * A command refused by the order rules. The stable `code` is what clients see; the exception
 * filter maps codes to HTTP statuses, the domain never knows about HTTP.
 */
export class OrderRuleViolation extends Error {
  constructor(
    readonly code: OrderRuleCode,
    message: string,
  ) {
    super(message);
    this.name = 'OrderRuleViolation';
  }
}

export type OrderRuleCode =
  | 'ORDER_NOT_FOUND'
  | 'ORDER_ALREADY_EXISTS'
  | 'ORDER_NOT_DRAFT'
  | 'ORDER_EMPTY'
  | 'ORDER_NOT_CONFIRMED'
  | 'ORDER_NOT_PAID'
  | 'ORDER_CLOSED'
  | 'LINE_NOT_FOUND'
  | 'LINE_PRICE_MISMATCH'
  | 'LINE_QUANTITY_EXCEEDED'
  | 'ORDER_LINES_EXCEEDED'
  | 'PAYMENT_AMOUNT_MISMATCH'
  | 'PAYMENT_ALREADY_RECORDED';
