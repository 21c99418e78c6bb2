import type { JWTVerifyResult } from 'jose';
import type { AuthSettings } from './auth-settings';
import { scopesOf } from './scopes';

/** Who a verified token speaks for. */
export interface Principal {
  /** The `sub` claim, when the token has one. */
  subject: string | undefined;
  scopes: ReadonlySet<string>;
}

/** The token is missing something or wrong: the client's fault, answered 401. */
export class TokenRejected extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'TokenRejected';
  }
}

/** The keys could not be fetched: our fault, answered 503 so clients retry. */
export class KeysUnavailable extends Error {
  constructor(cause: unknown) {
    super(`the signing keys could not be fetched: ${(cause as Error).message}`, { cause });
    this.name = 'KeysUnavailable';
  }
}

/** Tolerated clock difference between the token issuer and this service. */
const CLOCK_TOLERANCE_SECONDS = 30;
const UNAVAILABLE_KEYS = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID']);

/**
 * Verifies bearer tokens: one algorithm only (HS256 with a shared secret, RS256 with a JWKS),
 * signature, `exp` (required), `nbf`, `iss` and `aud`. `alg: none` and every other algorithm
 * are refused by the allowlist.
 */
export class TokenVerifier {
  private constructor(readonly verify: (token: string) => Promise<Principal>) {}

  static async create(settings: Exclude<AuthSettings, { mode: 'off' }>): Promise<TokenVerifier> {
    // jose ships ESM only; import() loads it in this CommonJS build, and only when auth is on.
    const jose = await import('jose');
    const options = {
      algorithms: [settings.mode === 'hs256' ? 'HS256' : 'RS256'],
      issuer: settings.issuer,
      audience: settings.audience,
      requiredClaims: ['exp'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    };
    let verifyJwt: (token: string) => Promise<JWTVerifyResult>;
    if (settings.mode === 'hs256') {
      const secret = new TextEncoder().encode(settings.secret);
      verifyJwt = (token) => jose.jwtVerify(token, secret, options);
    } else {
      // Fetched on first use, cached, and fetched again for an unknown `kid` (key rotation).
      const keys = jose.createRemoteJWKSet(new URL(settings.jwksUrl), {
        timeoutDuration: 5_000,
        cooldownDuration: 30_000,
        cacheMaxAge: 10 * 60_000,
      });
      verifyJwt = (token) => jose.jwtVerify(token, keys, options);
    }
    return new TokenVerifier(async (token) => {
      try {
        const { payload } = await verifyJwt(token);
        return { subject: payload.sub, scopes: scopesOf(payload) };
      } catch (error) {
        throw classify(error);
      }
    });
  }
}

function classify(error: unknown): Error {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('ERR_J') || UNAVAILABLE_KEYS.has(code)) {
    return new KeysUnavailable(error);
  }
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return new TokenRejected('the token has expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = (error as { claim?: unknown }).claim;
      return new TokenRejected(`the token's ${String(claim)} claim is not accepted`);
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new TokenRejected("the token's algorithm is not accepted");
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return new TokenRejected("the token's signature is not valid");
    default:
      return new TokenRejected('the token is not a valid JWT');
  }
}
