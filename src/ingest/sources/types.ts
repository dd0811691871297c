import type { AuthMode } from '../auth/modes.js';

/**
 * A webhook sender. Adding one is a new folder under `sources/` exporting a definition, listed
 * in `sources/index.ts`; its route, its `<PREFIX>_AUTH…` settings and its metrics follow.
 */
export interface SourceDefinition {
  /** Lower-case name; the `ob-source` header value. */
  readonly name: string;
  /** `POST` route the sender calls. */
  readonly route: string;
  /** Prefix of its settings: `<PREFIX>_AUTH`, `<PREFIX>_WEBHOOK_SECRETS`, … */
  readonly envPrefix: string;
  /** Checks used when `<PREFIX>_AUTH` is not set. */
  readonly defaultAuth: readonly AuthMode[];
  /** The customer id in a parsed body, or undefined when there is none: the raw record's key. */
  keyOf(body: unknown): string | undefined;
}

const MAX_KEY_LENGTH = 256;

/** A UTF-16 code unit of a surrogate pair standing alone (the `u` flag matches pairs whole). */
const LONE_SURROGATE = /\p{Cs}/gu;

/**
 * `text` with every lone surrogate (JSON allows the escape `"\ud800"`) replaced by U+FFFD, as
 * `String.prototype.toWellFormed` (ES2024) does: such a string has no UTF-8 form, and each
 * encoder would otherwise choose its own (kafkajs writes U+FFFD, avsc writes invalid UTF-8). Every
 * id taken from a body goes through this one rule, so the raw key, the RefreshRequested and the
 * normalizer's records name the same customer. Two ids that differ only in a lone surrogate
 * become one id; no genuine id contains one (see docs/reliability.md).
 */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\ufffd');
}

/** A usable key: a non-empty string (or a number, as some senders send ids) of sane length. */
export function asKey(value: unknown): string | undefined {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  return typeof text === 'string' && text.length > 0 && text.length <= MAX_KEY_LENGTH
    ? wellFormed(text)
    : undefined;
}

/** `obj[key]` when `obj` is a plain object, without touching its prototype. */
export function field(obj: unknown, key: string): unknown {
  return typeof obj === 'object' && obj !== null && !Array.isArray(obj) && Object.hasOwn(obj, key)
    ? (obj as Record<string, unknown>)[key]
    : undefined;
}
