/**
 * Ingest baseline: the smallest server that stores a webhook in Kafka — `node:http`, read the
 * body, one kafkajs `producer.send({acks: -1})` per request (idempotent producer, as the ingest),
 * 200 when it is acknowledged. No authentication, no parsing, no batching.
 *
 *   BENCH_BROKERS=… BENCH_TOPIC=… BENCH_PORT=… node --import tsx bench/workers/one-send-server.ts
 */
import http from 'node:http';
import { Kafka, Partitioners, logLevel } from 'kafkajs';

const brokers = (process.env.BENCH_BROKERS ?? '127.0.0.1:9092').split(',');
const topic = process.env.BENCH_TOPIC ?? 'bench.one-send';
const port = Number(process.env.BENCH_PORT ?? 0);

const kafka = new Kafka({ clientId: 'bench-one-send', brokers, logLevel: logLevel.ERROR });
const producer = kafka.producer({
  idempotent: true,
  createPartitioner: Partitioners.DefaultPartitioner,
});
await producer.connect();

const server = http.createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(req.url === '/readyz' ? 200 : 405).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    producer
      .send({ topic, acks: -1, messages: [{ value: Buffer.concat(chunks) }] })
      .then(() => {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"accepted"}');
      })
      .catch(() => {
        res.writeHead(503).end();
      });
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${bound}` }) + '\n');
});

const stop = () => {
  server.close();
  void producer.disconnect().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
