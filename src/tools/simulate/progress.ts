/**
 * Progress for people: on a terminal one line rewritten in place, elsewhere (CI, a pipe) a line
 * at most every `everyMs`. `done` prints the last state for good.
 */
export function progressLine(
  stream: { write(text: string): unknown; isTTY?: boolean },
  everyMs = 1000,
) {
  let last = 0;
  let pending: string | undefined;
  let shown = false;
  const tty = stream.isTTY === true;
  return {
    update(text: string) {
      pending = text;
      const now = Date.now();
      if (tty) {
        stream.write(`\r\x1b[K${text}`);
        shown = true;
        pending = undefined;
      } else if (now - last >= everyMs) {
        stream.write(`${text}\n`);
        last = now;
        pending = undefined;
      }
    },
    done(text?: string) {
      const final = text ?? pending;
      if (tty) stream.write(final !== undefined ? `\r\x1b[K${final}\n` : shown ? '\n' : '');
      else if (final !== undefined) stream.write(`${final}\n`);
      pending = undefined;
      shown = false;
    },
  };
}
