/**
 * Ingest bench: the load generator's ceiling — a `node:http` server that reads the body and
 * answers 200 at once (no Kafka, no checks). What autocannon can drive on this machine while it
 * shares the cores with a server: no service measured here can answer faster.
 *
 *   BENCH_PORT=… node --import tsx bench/workers/noop-server.ts
 */
import http from 'node:http';

const port = Number(process.env.BENCH_PORT ?? 0);

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"accepted"}');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');

const stop = () => {
  server.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
