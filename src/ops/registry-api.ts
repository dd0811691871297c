import { OperatorError, messageOf } from './errors.js';

/** An answer of the registry that is not a success (and not a 404 the caller expects). */
export class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * The few calls of the Confluent Schema Registry API (also served by Apicurio's `ccompat`) the
 * operator commands need, with the answers the registry gives kept as they are.
 */
export class RegistryApi {
  private readonly base: string;

  constructor(url: string) {
    this.base = url.replace(/\/+$/, '');
  }

  get url(): string {
    return this.base;
  }

  private async call(method: string, path: string, body?: unknown): Promise<Answer> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          accept: 'application/vnd.schemaregistry.v1+json, application/json',
          ...(body === undefined
            ? {}
            : { 'content-type': 'application/vnd.schemaregistry.v1+json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      const cause = err instanceof Error && err.cause ? `: ${messageOf(err.cause)}` : '';
      throw new OperatorError(
        `cannot reach the schema registry at ${this.base} (${messageOf(err)}${cause}); ` +
          'set SCHEMA_REGISTRY_URL, or start the local stack with `refreshbus stack up`',
        { cause: err },
      );
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // keep the text
    }
    return { status: res.status, body: parsed };
  }

  private fail(what: string, answer: Answer): never {
    const body = answer.body as { message?: unknown; error_code?: unknown } | string | undefined;
    const message =
      typeof body === 'object' && typeof body.message === 'string'
        ? body.message
        : typeof body === 'string' && body
          ? body
          : `HTTP ${answer.status}`;
    const code =
      typeof body === 'object' && typeof body.error_code === 'number' ? body.error_code : undefined;
    throw new RegistryError(answer.status, code, `${what}: ${message}`);
  }

  private static subject(subject: string): string {
    return encodeURIComponent(subject);
  }

  /** The latest version under `subject`, or undefined when the subject does not exist. */
  async latest(
    subject: string,
  ): Promise<{ id: number; version: number; schema: string } | undefined> {
    const a = await this.call('GET', `/subjects/${RegistryApi.subject(subject)}/versions/latest`);
    if (a.status === 404) return undefined;
    if (a.status !== 200) this.fail(`reading the latest version of ${subject}`, a);
    return a.body as { id: number; version: number; schema: string };
  }

  /** The version of `subject` holding exactly this schema, if registered. */
  async lookup(
    subject: string,
    schema: string,
  ): Promise<{ id: number; version: number } | undefined> {
    const a = await this.call('POST', `/subjects/${RegistryApi.subject(subject)}`, { schema });
    if (a.status === 404) return undefined;
    if (a.status !== 200) this.fail(`looking up ${subject}`, a);
    return a.body as { id: number; version: number };
  }

  /** Registers the schema (idempotent) and returns its id; 409 means incompatible. */
  async register(subject: string, schema: string): Promise<number> {
    const a = await this.call('POST', `/subjects/${RegistryApi.subject(subject)}/versions`, {
      schema,
    });
    if (a.status !== 200) this.fail(`registering ${subject}`, a);
    return (a.body as { id: number }).id;
  }

  /** The subject's own compatibility level, or undefined when it has none set. */
  async subjectCompatibility(subject: string): Promise<string | undefined> {
    const a = await this.call('GET', `/config/${RegistryApi.subject(subject)}`);
    if (a.status === 404) return undefined;
    if (a.status !== 200) this.fail(`reading the compatibility of ${subject}`, a);
    return String((a.body as { compatibilityLevel?: unknown }).compatibilityLevel).toUpperCase();
  }

  /** The registry-wide default compatibility level. */
  async globalCompatibility(): Promise<string> {
    const a = await this.call('GET', '/config');
    if (a.status !== 200) this.fail('reading the global compatibility', a);
    return String((a.body as { compatibilityLevel?: unknown }).compatibilityLevel).toUpperCase();
  }

  async setCompatibility(subject: string, level: string): Promise<void> {
    const a = await this.call('PUT', `/config/${RegistryApi.subject(subject)}`, {
      compatibility: level,
    });
    if (a.status !== 200) this.fail(`setting the compatibility of ${subject}`, a);
  }

  /**
   * Asks the registry whether `schema` is compatible with the latest version of `subject`, under
   * the subject's compatibility level. `messages` are the registry's reasons (`verbose=true`):
   * Confluent gives them; Apicurio 3.3's ccompat API answers `{"is_compatible": false}` only.
   */
  async testCompatibility(
    subject: string,
    schema: string,
  ): Promise<{ compatible: boolean; messages: string[] }> {
    const a = await this.call(
      'POST',
      `/compatibility/subjects/${RegistryApi.subject(subject)}/versions/latest?verbose=true`,
      { schema },
    );
    if (a.status !== 200) this.fail(`checking ${subject}`, a);
    const body = a.body as { is_compatible?: unknown; messages?: unknown };
    return {
      compatible: body.is_compatible === true,
      messages: Array.isArray(body.messages) ? body.messages.map(String) : [],
    };
  }

  /**
   * Apicurio only: the registry's own reasons for refusing `schema` as the next version of
   * `subject`, from its native API's dry run (nothing is stored). Undefined when the registry is
   * not Apicurio (its URL does not end in `/apis/ccompat/vN`) or gives no reasons.
   */
  async apicurioDryRunReasons(subject: string, schema: string): Promise<string[] | undefined> {
    const native = /^(.*)\/apis\/ccompat\/v\d+$/.exec(this.base);
    if (!native) return undefined;
    const url = `${native[1]}/apis/registry/v3/groups/default/artifacts/${encodeURIComponent(subject)}/versions?dryRun=true`;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ content: { content: schema, contentType: 'application/json' } }),
        signal: AbortSignal.timeout(15_000),
      });
      if (res.ok) return undefined;
      const body = (await res.json()) as {
        title?: unknown;
        causes?: { description?: unknown; context?: unknown }[];
      };
      // the title lists every cause ("… list of diff types: [b at /fields/1]")
      if (typeof body.title === 'string') return [body.title];
      const causes = (body.causes ?? []).map(
        (c) => `${String(c.description)} at ${String(c.context)}`,
      );
      return causes.length ? causes : undefined;
    } catch {
      return undefined;
    }
  }
}
