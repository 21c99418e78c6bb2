import proxyAddr from 'proxy-addr';
import { z } from 'zod';

/**
 * TRUST_PROXY, read by proxy-addr's rules (as Express's `trust proxy`): `false` (the
 * connection's address is the client), a number of proxy hops in front of the service, or the
 * addresses, CIDR ranges and names (`loopback`, `linklocal`, `uniquelocal`) of the proxies to
 * trust.
 */
export type TrustProxySetting = false | number | string[];

const HOP_COUNT = /^[0-9]{1,2}$/;

/**
 * `TRUST_PROXY`: unset, empty or `false` is off. `true` (trust every hop) is refused, since any
 * client could then choose the address it is rate-limited and logged under.
 */
export const trustProxyVariable = z
  .string()
  .optional()
  .transform((value, ctx): TrustProxySetting => {
    const text = value?.trim() ?? '';
    if (text === '' || text === 'false') return false;
    if (text === 'true') {
      ctx.addIssue({
        code: 'custom',
        message:
          'true would let any client choose its address; give a hop count, or the proxies (loopback, 10.0.0.0/8, …)',
      });
      return z.NEVER;
    }
    if (HOP_COUNT.test(text)) return Number(text);
    const proxies = text.split(',').map((part) => part.trim());
    try {
      proxyAddr.compile(proxies);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a hop count (0..99) or a comma-separated list of addresses, CIDR ranges, loopback, linklocal or uniquelocal (${(error as Error).message})`,
      });
      return z.NEVER;
    }
    return proxies;
  });
