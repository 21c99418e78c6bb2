import { z } from 'zod';

/** An empty variable means "unset", as shells and compose files commonly produce it. */
const unsetWhenBlank = <S extends z.ZodType>(schema: S) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema);

/**
 * The authentication variables of contract §7, shared by both services' configuration.
 * HS256 needs a key of at least 256 bits (RFC 7518 §3.2).
 */
export const authVariables = {
  AUTH_JWT_SECRET: unsetWhenBlank(
    z.string().min(32, 'must be at least 32 characters (HS256 needs a 256-bit key)').optional(),
  ),
  AUTH_JWKS_URL: unsetWhenBlank(
    z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  ),
  AUTH_ISSUER: unsetWhenBlank(z.string().min(1).max(2000).optional()),
  AUTH_AUDIENCE: unsetWhenBlank(z.string().min(1).max(2000).optional()),
};

/** `RATE_LIMIT_PER_MINUTE`: requests per client per minute; 0 turns the limit off. */
export const rateLimitVariable = unsetWhenBlank(
  z.coerce.number().int().min(0).max(1_000_000).default(6000),
);

interface AuthVariableValues {
  NODE_ENV?: unknown;
  AUTH_JWT_SECRET?: unknown;
  AUTH_JWKS_URL?: unknown;
  AUTH_ISSUER?: unknown;
  AUTH_AUDIENCE?: unknown;
}

const isSet = (value: unknown) => value !== undefined && value !== '';

/**
 * The rules between the auth variables. Runs even when other variables are bad, so the
 * start-up error names every problem at once.
 */
export const authVariablesCheck = z.superRefine<AuthVariableValues>(
  (env, ctx) => {
    const secret = isSet(env.AUTH_JWT_SECRET);
    const jwks = isSet(env.AUTH_JWKS_URL);
    if (secret && jwks) {
      ctx.addIssue({
        code: 'custom',
        path: ['AUTH_JWKS_URL'],
        message: 'set either AUTH_JWT_SECRET (HS256) or AUTH_JWKS_URL (RS256), not both',
      });
    }
    if (secret || jwks) {
      for (const name of ['AUTH_ISSUER', 'AUTH_AUDIENCE'] as const) {
        if (!isSet(env[name])) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: 'is required when AUTH_JWT_SECRET or AUTH_JWKS_URL is set',
          });
        }
      }
    } else if (env.NODE_ENV === 'production') {
      ctx.addIssue({
        code: 'custom',
        path: ['AUTH_JWT_SECRET'],
        message:
          'NODE_ENV=production refuses to run without authentication: set AUTH_JWT_SECRET ' +
          '(HS256) or AUTH_JWKS_URL (RS256), with AUTH_ISSUER and AUTH_AUDIENCE',
      });
    }
  },
  { when: () => true },
);

/** How requests are authenticated; `off` only outside production (see authVariablesCheck). */
export type AuthSettings =
  | { mode: 'off' }
  | { mode: 'hs256'; secret: string; issuer: string; audience: string }
  | { mode: 'jwks'; jwksUrl: string; issuer: string; audience: string };

export function authSettingsOf(env: {
  AUTH_JWT_SECRET?: string | undefined;
  AUTH_JWKS_URL?: string | undefined;
  AUTH_ISSUER?: string | undefined;
  AUTH_AUDIENCE?: string | undefined;
}): AuthSettings {
  const { AUTH_JWT_SECRET: secret, AUTH_JWKS_URL: jwksUrl } = env;
  const issuer = env.AUTH_ISSUER ?? '';
  const audience = env.AUTH_AUDIENCE ?? '';
  if (secret) return { mode: 'hs256', secret, issuer, audience };
  if (jwksUrl) return { mode: 'jwks', jwksUrl, issuer, audience };
  return { mode: 'off' };
}
