/** One row of `GET /stats/daily` (§5). */
export interface DailyStatsRowResponse {
  date: string;
  ordersPlaced: number;
  ordersConfirmed: number;
  ordersCancelled: number;
  revenue: number;
}
