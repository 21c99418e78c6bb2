/** One row of `GET /stats/products` (§5). */
export interface ProductStatsRowResponse {
  sku: string;
  currency: string;
  unitsSold: number;
  revenue: number;
  orders: number;
}
