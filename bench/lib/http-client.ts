import http from 'node:http';

/** A keep-alive HTTP client for paced senders (autocannon cannot pace per-request bodies). */
export function createClient(baseUrl: string, maxSockets: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const base = new URL(baseUrl);
  return {
    /**
     * POSTs `body`; resolves with the status and when the response ended (Date.now()), or with
     * status 0 and the socket error's code.
     */
    post(path: string, headers: Record<string, string>, body: Buffer) {
      return new Promise<{ status: number; sentAt: number; doneAt: number; error?: string }>(
        (resolve) => {
          const sentAt = Date.now();
          const req = http.request(
            {
              host: base.hostname,
              port: base.port,
              path,
              method: 'POST',
              agent,
              headers: { ...headers, 'content-length': String(body.length) },
              timeout: 30_000,
            },
            (res) => {
              res.resume();
              res.on('end', () => {
                resolve({ status: res.statusCode ?? 0, sentAt, doneAt: Date.now() });
              });
            },
          );
          req.on('error', (err: NodeJS.ErrnoException) => {
            resolve({ status: 0, sentAt, doneAt: Date.now(), error: err.code ?? err.message });
          });
          req.on('timeout', () => req.destroy());
          req.end(body);
        },
      );
    },
    close: () => {
      agent.destroy();
    },
  };
}
