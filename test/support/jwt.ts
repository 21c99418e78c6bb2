import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

/**
 * JWTs built by hand, so tests can make every kind of bad token a client could send
 * (`alg: none`, another key, another algorithm) without a library that refuses to.
 */
export interface Claims {
  sub?: string;
  iss?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  scope?: string;
  scp?: string[];
  [claim: string]: unknown;
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

function unsigned(header: Record<string, unknown>, claims: Claims): string {
  return `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

export function hs256Token(secret: string, claims: Claims): string {
  const input = unsigned({ alg: 'HS256', typ: 'JWT' }, claims);
  return `${input}.${base64url(createHmac('sha256', secret).update(input).digest())}`;
}

export function rs256Token(privateKey: KeyObject, claims: Claims, kid = 'test-key'): string {
  const input = unsigned({ alg: 'RS256', typ: 'JWT', kid }, claims);
  return `${input}.${base64url(sign('RSA-SHA256', Buffer.from(input), privateKey))}`;
}

/** An unsecured JWT (RFC 7519 §6): no signature at all. */
export function unsecuredToken(claims: Claims): string {
  return `${unsigned({ alg: 'none', typ: 'JWT' }, claims)}.`;
}

export function rsaKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}
