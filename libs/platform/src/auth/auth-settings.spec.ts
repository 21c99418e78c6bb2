import { z } from 'zod';
import { parseEnvironment } from '../environment';
import {
  authSettingsOf,
  authVariables,
  authVariablesCheck,
  rateLimitVariable,
} from './auth-settings';

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    PORT: z.coerce.number().int(),
    ...authVariables,
    RATE_LIMIT_PER_MINUTE: rateLimitVariable,
  })
  .check(authVariablesCheck);

const secret = 'x'.repeat(32);

function problems(env: Record<string, string>): string[] {
  try {
    parseEnvironment(schema, { PORT: '1', ...env });
    return [];
  } catch (error) {
    return (error as Error).message
      .split('\n')
      .slice(1)
      .map((line) => line.trim());
  }
}

describe('auth variables', () => {
  it('leave auth off by default, outside production', () => {
    const env = parseEnvironment(schema, { PORT: '1', AUTH_JWT_SECRET: '' });
    expect(authSettingsOf(env)).toEqual({ mode: 'off' });
    expect(env.RATE_LIMIT_PER_MINUTE).toBe(6000);
  });

  it('refuse production without auth, naming both ways to turn it on', () => {
    const [problem, ...rest] = problems({ NODE_ENV: 'production' });
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^AUTH_JWT_SECRET: .*AUTH_JWKS_URL/);
  });

  it('need issuer and audience with a secret or a JWKS URL, and not both', () => {
    expect(problems({ AUTH_JWT_SECRET: secret })).toEqual([
      expect.stringMatching(/^AUTH_ISSUER: /),
      expect.stringMatching(/^AUTH_AUDIENCE: /),
    ]);
    expect(
      problems({
        AUTH_JWT_SECRET: secret,
        AUTH_JWKS_URL: 'https://id.example/jwks',
        AUTH_ISSUER: 'i',
        AUTH_AUDIENCE: 'a',
      }),
    ).toEqual([expect.stringMatching(/^AUTH_JWKS_URL: .*not both/)]);
  });

  it('are reported together with every other bad variable', () => {
    expect(problems({ PORT: 'x', AUTH_JWT_SECRET: 'short', NODE_ENV: 'production' })).toEqual([
      expect.stringMatching(/^PORT: /),
      expect.stringMatching(/^AUTH_JWT_SECRET: .*32 characters/),
      expect.stringMatching(/^AUTH_ISSUER: /),
      expect.stringMatching(/^AUTH_AUDIENCE: /),
    ]);
  });

  it('turn into the settings the verifier uses', () => {
    const jwks = { AUTH_JWKS_URL: 'https://id.example/jwks', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' };
    expect(authSettingsOf(parseEnvironment(schema, { PORT: '1', ...jwks }))).toEqual({
      mode: 'jwks',
      jwksUrl: 'https://id.example/jwks',
      issuer: 'i',
      audience: 'a',
    });
  });
});
