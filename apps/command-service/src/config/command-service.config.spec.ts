import { loadCommandServiceConfig } from './command-service.config';

describe('loadCommandServiceConfig', () => {
  it('names bad OpenTelemetry variables together with the other bad variables', () => {
    expect(() =>
      loadCommandServiceConfig({
        PORT: 'x',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317',
        OTEL_SERVICE_NAME: 'two words',
        OTEL_SDK_DISABLED: 'yes',
        OTEL_BSP_SCHEDULE_DELAY: 'soon',
      }),
    ).toThrow(
      /PORT[\s\S]*OTEL_EXPORTER_OTLP_ENDPOINT[\s\S]*OTEL_SERVICE_NAME[\s\S]*OTEL_SDK_DISABLED[\s\S]*OTEL_BSP_SCHEDULE_DELAY/,
    );
  });
});
