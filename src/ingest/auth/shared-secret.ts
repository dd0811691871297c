import { constantTimeEqual } from './constant-time.js';
import type { Authenticator } from './types.js';
import { singleHeader } from './types.js';

/** Admits requests that carry `secret` in `header`, compared in constant time. */
export function sharedSecret(header: string, secret: string): Authenticator {
  return (request) => {
    const offered = singleHeader(request.headers, header);
    if (offered === null) {
      return Promise.resolve({
        ok: false,
        code: 'SIGNATURE_INVALID',
        message: `${header} must not repeat`,
      });
    }
    if (!offered)
      return Promise.resolve({
        ok: false,
        code: 'SIGNATURE_MISSING',
        message: `${header} header is required`,
      });
    return Promise.resolve(
      constantTimeEqual(offered, secret)
        ? { ok: true, method: 'shared-secret' }
        : { ok: false, code: 'SIGNATURE_INVALID', message: `${header} does not match` },
    );
  };
}
