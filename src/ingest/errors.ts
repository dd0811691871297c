/** The ingest's error codes, as the public contract names them. */
export type IngestErrorCode =
  | 'INVALID_JSON'
  | 'INVALID_REQUEST'
  | 'SIGNATURE_MISSING'
  | 'SIGNATURE_INVALID'
  | 'SOURCE_NOT_ALLOWED'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'REQUEST_TIMEOUT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'HEADERS_TOO_LARGE'
  | 'INTERNAL'
  | 'UNAVAILABLE';

const statusByCode: Record<IngestErrorCode, number> = {
  INVALID_JSON: 400,
  INVALID_REQUEST: 400,
  SIGNATURE_MISSING: 401,
  SIGNATURE_INVALID: 401,
  SOURCE_NOT_ALLOWED: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  HEADERS_TOO_LARGE: 431,
  INTERNAL: 500,
  UNAVAILABLE: 503,
};

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
