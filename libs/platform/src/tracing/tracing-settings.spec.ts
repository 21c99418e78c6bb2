import { tracingSettingsOf } from './tracing-settings';

describe('tracingSettingsOf', () => {
  it('leaves tracing off without OTEL_EXPORTER_OTLP_ENDPOINT, or with the SDK disabled', () => {
    expect(tracingSettingsOf({}, 'command-service')).toBeNull();
    expect(tracingSettingsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }, 'command-service')).toBeNull();
    expect(
      tracingSettingsOf(
        { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' },
        'command-service',
      ),
    ).toBeNull();
    // A bad variable never starts tracing half-configured (the configuration then names it).
    expect(
      tracingSettingsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317' }, 'query-service'),
    ).toBeNull();
  });

  it('exports to the endpoint with the traces path, under the default service name', () => {
    expect(
      tracingSettingsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }, 'query-service'),
    ).toEqual({
      serviceName: 'query-service',
      tracesUrl: 'http://collector:4318/v1/traces',
      scheduleDelayMs: 5000,
    });
    expect(
      tracingSettingsOf(
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com/tenant-1',
          OTEL_SERVICE_NAME: 'orders-commands-eu',
          OTEL_BSP_SCHEDULE_DELAY: '250',
        },
        'command-service',
      ),
    ).toEqual({
      serviceName: 'orders-commands-eu',
      tracesUrl: 'https://otlp.example.com/tenant-1/v1/traces',
      scheduleDelayMs: 250,
    });
  });
});
