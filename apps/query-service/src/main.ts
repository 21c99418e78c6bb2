// First: tracing must be started before Nest, http and mongodb are loaded.
import './tracing';
import { runUntilSignalled } from '@orders/platform';
import { bootstrapQueryService } from './bootstrap-query-service';

runUntilSignalled('query-service', async () => {
  const { app } = await bootstrapQueryService();
  return app;
});
