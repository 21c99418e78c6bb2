import { InvalidConfigurationError, loadQueryServiceConfig } from './query-service.config';

describe('loadQueryServiceConfig', () => {
  it('uses the local defaults for an empty environment', () => {
    expect(loadQueryServiceConfig({}, {})).toEqual({
      port: 3001,
      mongodbUrl: 'mongodb://127.0.0.1:27017/orders_read',
      mongodbDatabase: 'orders_read',
      rabbitmqUrl: 'amqp://guest:guest@127.0.0.1:5672/',
      queryQueueName: 'orders.query-service',
      prefetch: 256,
      logLevel: 'info',
      auth: { mode: 'off' },
      rateLimitPerMinute: 6000,
      trustProxy: false,
      commandServiceUrl: 'http://127.0.0.1:3000',
      commandServiceToken: null,
      rebuildPageSize: 500,
      readyMaxLagSeconds: 60,
      readyMaxLagEvents: 50_000,
    });
  });

  it('takes the database from the MongoDB URL path', () => {
    const config = loadQueryServiceConfig(
      {},
      {
        MONGODB_URL: 'mongodb://user:pw@db1:27017,db2:27017/reads_eu?replicaSet=rs0',
        PORT: '8080',
        PREFETCH: '32',
      },
    );
    expect(config).toMatchObject({ mongodbDatabase: 'reads_eu', port: 8080, prefetch: 32 });
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      loadQueryServiceConfig(
        {},
        {
          PORT: '70000',
          MONGODB_URL: 'mongodb://localhost:27017',
          RABBITMQ_URL: 'http://localhost',
          QUERY_QUEUE_NAME: 'amq.mine',
          PREFETCH: 'lots',
          TRUST_PROXY: 'loopback, 10.0.0.0/33',
          COMMAND_SERVICE_URL: 'ftp://x',
          COMMAND_SERVICE_TOKEN: 'Bearer abc.def.ghi',
          REBUILD_PAGE_SIZE: '0',
        },
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    const problems = (error as InvalidConfigurationError).problems.map(
      (problem) => problem.split(':')[0],
    );
    expect(problems).toEqual([
      'PORT',
      'MONGODB_URL',
      'RABBITMQ_URL',
      'QUERY_QUEUE_NAME',
      'PREFETCH',
      'TRUST_PROXY',
      'COMMAND_SERVICE_URL',
      'COMMAND_SERVICE_TOKEN',
      'REBUILD_PAGE_SIZE',
    ]);
    // The token is a secret: a refused one is named, never printed.
    expect((error as Error).message).not.toContain('abc.def.ghi');
  });

  it.each([
    ['2', 2],
    ['loopback', ['loopback']],
    ['loopback, 10.0.0.0/8,fd00::/8', ['loopback', '10.0.0.0/8', 'fd00::/8']],
    ['false', false],
  ])('reads TRUST_PROXY=%s', (value, expected) => {
    expect(loadQueryServiceConfig({}, { TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  it.each(['true', 'proxy.example.com', '10.0.0.1/40', 'loopback,,'])(
    'refuses TRUST_PROXY=%s',
    (value) => {
      expect(() => loadQueryServiceConfig({}, { TRUST_PROXY: value })).toThrow(/TRUST_PROXY/);
    },
  );

  it('lets explicit overrides replace variables, which are then not validated', () => {
    const config = loadQueryServiceConfig(
      { port: 0, mongodbUrl: 'mongodb://127.0.0.1:27017/test_db' },
      { PORT: 'not a port', MONGODB_URL: 'nonsense' },
    );
    expect(config).toMatchObject({ port: 0, mongodbDatabase: 'test_db' });
  });

  it('names bad OpenTelemetry variables together with the other bad variables', () => {
    const environment = {
      PREFETCH: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317',
      OTEL_SERVICE_NAME: 'two words',
      OTEL_SDK_DISABLED: 'yes',
      OTEL_BSP_SCHEDULE_DELAY: 'soon',
    };
    expect(() => loadQueryServiceConfig({}, environment)).toThrow(InvalidConfigurationError);
    try {
      loadQueryServiceConfig({}, environment);
    } catch (error) {
      const { problems } = error as InvalidConfigurationError;
      expect(problems.map((problem) => problem.split(':')[0]).sort()).toEqual(
        Object.keys(environment).sort(),
      );
    }
  });
});
