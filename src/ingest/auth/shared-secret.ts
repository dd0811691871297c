import { constantTimeEqual } from './constant-time.js';
import type { Authenticator } from './types.js';
import { headerBytes, singleHeader } from './types.js';

/**
 * Admits requests that carry `secret` in `header`, compared in constant time: the header's bytes
 * against the secret's UTF-8 bytes (a non-ASCII secret sent as Latin-1 is another secret).
 */
export function sharedSecret(header: string, secret: string): Authenticator {
  const expected = Buffer.from(secret, 'utf8');
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
      constantTimeEqual(headerBytes(offered), expected)
        ? { ok: true, method: 'shared-secret' }
        : { ok: false, code: 'SIGNATURE_INVALID', message: `${header} does not match` },
    );
  };
}
