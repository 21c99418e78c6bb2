import { bootstrapQueryService } from './bootstrap-query-service';

bootstrapQueryService().catch((error: unknown) => {
  // Configuration errors already name every bad variable; print them without a stack.
  const text =
    error instanceof Error && error.name === 'InvalidConfigurationError' ? error.message : error;
  console.error('query-service failed to start:', text);
  process.exit(1);
});
