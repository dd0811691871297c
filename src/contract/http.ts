/**
 * The ingest's HTTP error contract: every error answer is `{"error":{"code","message"}}` with one
 * of these stable codes and its status (docs/architecture.md, `asyncapi.yaml`) — defined once
 * here for the ingest, the simulator and the tests.
 */
export const HTTP_ERROR_STATUS = {
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
} as const satisfies Record<string, number>;

/** The ingest's error codes, as the public contract names them. */
export type IngestErrorCode = keyof typeof HTTP_ERROR_STATUS;
