import type { IncomingHttpHeaders } from 'node:http';

/** What an authenticator sees: the raw bytes, before anything parses them. */
export interface AuthRequest {
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: Buffer;
  /** The client address, after trusted-proxy handling. */
  readonly remoteAddr: string;
  /** Milliseconds since the epoch (passed in so checks stay testable). */
  readonly now: number;
}

export type AuthFailureCode = 'SIGNATURE_MISSING' | 'SIGNATURE_INVALID' | 'SOURCE_NOT_ALLOWED';

/**
 * The outcome of one check; `method` ends up in the raw record's `ob-auth` header. `detail` says,
 * by method, how a check that can pass more than one way passed (`{ 'bud-jws': 'json' }`), for
 * metrics.
 */
export type AuthResult =
  | {
      readonly ok: true;
      readonly method: string;
      readonly detail?: Readonly<Record<string, string>>;
    }
  | { readonly ok: false; readonly code: AuthFailureCode; readonly message: string };

export type Authenticator = (request: AuthRequest) => Promise<AuthResult>;

/**
 * The bytes a header value arrived as. Node reads header values as Latin-1 — one character per
 * byte, so nothing is lost — while senders sign and compare text as UTF-8: a check that fed
 * Node's string to something encoding UTF-8 (`createHmac().update`, a hash) saw other bytes than
 * those sent. Checks use these bytes, or {@link headerText}, never the string as Node gives it.
 */
export function headerBytes(value: string): Buffer {
  return Buffer.from(value, 'latin1');
}

/** A header value read as UTF-8 text, as its sender wrote it (invalid sequences become U+FFFD). */
export function headerText(value: string): string {
  return headerBytes(value).toString('utf8');
}

/** One header value, refusing repeated headers (a classic way to smuggle a second signature). */
export function singleHeader(
  headers: IncomingHttpHeaders,
  name: string,
): string | undefined | null {
  const value = headers[name.toLowerCase()];
  if (Array.isArray(value)) return null;
  return value;
}

/** Runs every check in order; all must pass. */
export function allOf(checks: readonly Authenticator[]): Authenticator {
  return async (request) => {
    const methods: string[] = [];
    let detail: Record<string, string> | undefined;
    for (const check of checks) {
      const result = await check(request);
      if (!result.ok) return result;
      methods.push(result.method);
      if (result.detail) detail = { ...detail, ...result.detail };
    }
    const method = methods.join('+');
    return detail ? { ok: true, method, detail } : { ok: true, method };
  };
}
