import { HTTP_ERROR_STATUS } from '../contract/http.js';
import type { IngestErrorCode } from '../contract/http.js';

export type { IngestErrorCode };

const statusByCode = HTTP_ERROR_STATUS;

/** An answer other than 200, with its stable code; rendered as `{"error":{"code","message"}}`. */
export class HttpError extends Error {
  readonly status: number;
  constructor(
    readonly code: IngestErrorCode,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
    this.status = statusByCode[code];
  }
}

export function errorBody(code: IngestErrorCode, message: string) {
  return { error: { code, message } };
}

/** The HTTP status of a code. */
export function statusOf(code: IngestErrorCode): number {
  return statusByCode[code];
}
