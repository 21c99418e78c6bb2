import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { ConsistencyModule } from '../consistency/consistency.module';
import { ReadStoreModule } from '../read-store/read-store.module';
import { GetDailyStatsController } from './get-daily-stats/get-daily-stats.controller';
import { GetDailyStatsHandler } from './get-daily-stats/get-daily-stats.handler';
import { GetOrderHistoryController } from './get-order-history/get-order-history.controller';
import { GetOrderHistoryHandler } from './get-order-history/get-order-history.handler';
import { GetOrderController } from './get-order/get-order.controller';
import { GetOrderHandler } from './get-order/get-order.handler';
import { GetOrderMetrics } from './get-order/get-order.metrics';
import { GetProductStatsController } from './get-product-stats/get-product-stats.controller';
import { GetProductStatsHandler } from './get-product-stats/get-product-stats.handler';
import { ListOrdersController } from './list-orders/list-orders.controller';
import { ListOrdersHandler } from './list-orders/list-orders.handler';

@Module({
  imports: [CqrsModule.forRoot(), ReadStoreModule, ConsistencyModule],
  controllers: [
    ListOrdersController,
    GetOrderHistoryController,
    GetOrderController,
    GetProductStatsController,
    GetDailyStatsController,
  ],
  providers: [
    ListOrdersHandler,
    GetOrderHistoryHandler,
    GetOrderHandler,
    GetOrderMetrics,
    GetProductStatsHandler,
    GetDailyStatsHandler,
  ],
})
export class QueriesModule {}
