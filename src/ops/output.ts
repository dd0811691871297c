import { once } from 'node:events';

/**
 * JSON lines on stdout with backpressure; a closed pipe (`refreshbus tail … | head`) aborts
 * `closed` instead of crashing with EPIPE.
 */
export function jsonLines(stream: NodeJS.WriteStream = process.stdout) {
  const closed = new AbortController();
  const onError = (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') closed.abort();
    else throw err;
  };
  stream.on('error', onError);
  return {
    closed: closed.signal,
    async write(value: unknown): Promise<void> {
      if (closed.signal.aborted) return;
      if (!stream.write(`${JSON.stringify(value)}\n`)) {
        await Promise.race([once(stream, 'drain'), once(closed.signal, 'abort')]);
      }
    },
    dispose(): void {
      stream.off('error', onError);
    },
  };
}

/** An AbortSignal for SIGINT/SIGTERM (a second signal exits at once). */
export function signalAbort(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
