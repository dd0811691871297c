import { z } from 'zod';

// The kinds of value settings take, as zod schemas (environment strings coerced).

export const port = (fallback: number) =>
  z.coerce.number().int().min(1).max(65535).default(fallback);
export const csv = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x.length > 0),
  )
  .pipe(z.array(z.string()).min(1));

export const ms = (fallback: number) => z.coerce.number().int().positive().default(fallback);
/** The least time between two transactions of one input partition (normalizer, processors). */
export const transactionInterval = (who: string) =>
  z.coerce
    .number()
    .int()
    .min(0)
    .max(1000)
    .default(50)
    .describe(
      `${who}: least time between the starts of two transactions of one input partition; under load its records gather into fewer, larger transactions (less broker work) at up to this much added latency. 0: none; at most 1000.`,
    );
export const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
