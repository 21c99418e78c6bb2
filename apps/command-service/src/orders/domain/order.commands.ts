import type { LineInput } from '@orders/contracts';

/** What the decider is asked to do; the use-case handlers build these from requests. */
export type OrderCommand =
  | {
      type: 'PlaceOrder';
      customerId: string;
      currency: string;
      items: LineInput[];
    }
  | { type: 'AddItem'; line: LineInput }
  | { type: 'RemoveItem'; sku: string }
  | { type: 'ConfirmOrder' }
  | { type: 'PayOrder'; paymentId: string; amount: number }
  | { type: 'ShipOrder'; carrier: string; trackingNumber: string }
  | { type: 'CancelOrder'; reason: string };
