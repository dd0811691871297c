import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

/**
 * A stand-in for Plaid's webhook signing, for the demo, the simulator and the tests: an ES256 key
 * pair, `Plaid-Verification` headers signed with it as Plaid signs them (a JWT over the body's
 * SHA-256), and a local `/webhook_verification_key/get` serving the public key as Plaid's API does
 * — so the ingest's `plaid` check runs unchanged against it (PLAID_API_URL = `url`).
 */
export interface PlaidSandbox {
  /** The API base URL to give the ingest as PLAID_API_URL. */
  readonly url: string;
  readonly clientId: string;
  readonly secret: string;
  /** Key requests served, by outcome (tests). */
  readonly served: { keys: number; refused: number };
  /** The `Plaid-Verification` header for `body`, issued at `iat` (seconds; default now). */
  sign(body: Buffer | string, iat?: number): Promise<string>;
  close(): Promise<void>;
}

/** Starts the key server on 127.0.0.1 (any free port) with a fresh key. */
export async function startPlaidSandbox(
  options: { clientId?: string; secret?: string } = {},
): Promise<PlaidSandbox> {
  const clientId = options.clientId ?? 'sandbox-client';
  const secret = options.secret ?? `sandbox-secret-${randomUUID()}`;
  const kid = randomUUID();
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const created = Math.floor(Date.now() / 1000);
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const served = { keys: 0, refused: 0 };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const answer = keyAnswer(Buffer.concat(chunks), { clientId, secret, kid, jwk, created });
      if (answer.status === 200) served.keys += 1;
      else served.refused += 1;
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}`,
    clientId,
    secret,
    served,
    sign: (body, iat = Math.floor(Date.now() / 1000)) =>
      new SignJWT({ request_body_sha256: createHash('sha256').update(body).digest('hex') })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .setIssuedAt(iat)
        .sign(privateKey),
    close: () =>
      new Promise((resolve) =>
        server.close(() => {
          resolve();
        }),
      ),
  };
}

/** Plaid's answer to `/webhook_verification_key/get` for `raw` (its request body). */
function keyAnswer(
  raw: Buffer,
  key: { clientId: string; secret: string; kid: string; jwk: object; created: number },
): { status: number; body: object } {
  const refuse = (code: string) => ({
    status: 400,
    body: { error_type: 'INVALID_INPUT', error_code: code, request_id: randomUUID() },
  });
  let asked: { client_id?: unknown; secret?: unknown; key_id?: unknown };
  try {
    asked = JSON.parse(raw.toString('utf8')) as typeof asked;
  } catch {
    return refuse('INVALID_BODY');
  }
  if (asked.client_id !== key.clientId || asked.secret !== key.secret)
    return refuse('INVALID_API_KEYS');
  if (asked.key_id !== key.kid) return refuse('INVALID_WEBHOOK_VERIFICATION_KEY_ID');
  return {
    status: 200,
    body: {
      key: { ...key.jwk, created_at: key.created, expired_at: null },
      request_id: randomUUID(),
    },
  };
}
