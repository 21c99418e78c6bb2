import { runUntilSignalled } from '@orders/platform';
import { bootstrapQueryService } from './bootstrap-query-service';

runUntilSignalled('query-service', async () => {
  const { app } = await bootstrapQueryService({ shutdownHooks: false });
  return app;
});
