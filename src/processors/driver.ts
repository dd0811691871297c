import type { Processor, ProcessorInput, ProcessorOutput } from './types.js';

/**
 * Runs processors in memory, the way the Kafka wiring does, without Kafka (Kafka Streams'
 * TopologyTestDriver idea): feed records, move the clock, read outputs and state. Timers fire in
 * time order as the clock passes them. States go through the processor's codec after every step,
 * as they do through the changelog and the in-memory store in production.
 */
export class ProcessorDriver {
  private readonly states = new Map<string, Map<string, unknown>>();
  private readonly timers = new Map<string, Map<string, number>>();
  readonly outputs: ProcessorOutput[] = [];

  constructor(
    private readonly processors: readonly Processor<unknown>[],
    public now: number,
  ) {
    for (const p of processors) {
      this.states.set(p.name, new Map());
      this.timers.set(p.name, new Map());
    }
  }

  /** Feeds one input for `customer` to every processor; returns the outputs it caused. */
  feed(customer: string, input: ProcessorInput): ProcessorOutput[] {
    const produced: ProcessorOutput[] = [];
    for (const p of this.processors) produced.push(...this.step(p, customer, input));
    this.outputs.push(...produced);
    return produced;
  }

  /** Moves the clock forward by `ms`, firing due timers in time order; returns the outputs they caused. */
  advance(ms: number): ProcessorOutput[] {
    const until = this.now + ms;
    const produced: ProcessorOutput[] = [];
    for (;;) {
      let next: { p: Processor<unknown>; customer: string; at: number } | undefined;
      for (const p of this.processors) {
        for (const [customer, at] of this.timers.get(p.name) ?? []) {
          if (at <= until && (!next || at < next.at)) next = { p, customer, at };
        }
      }
      if (!next) break;
      this.now = Math.max(this.now, next.at);
      produced.push(...this.step(next.p, next.customer, { kind: 'tick' }));
    }
    this.now = until;
    this.outputs.push(...produced);
    return produced;
  }

  /** Puts a state in place as a restore from the changelog does, with its deadline. */
  restore(processor: string, customer: string, state: unknown): void {
    const p = this.processors.find((x) => x.name === processor);
    if (!p) throw new Error(`no processor ${processor}`);
    // a copy through the codec, as the changelog gives it: reduce may change the state it is given
    const stored = p.codec.decode(p.codec.encode(state));
    this.states.get(processor)?.set(customer, stored);
    const at = p.nextTimer(stored, this.now);
    if (at !== undefined) this.timers.get(processor)?.set(customer, at);
  }

  state(processor: string, customer: string): unknown {
    return this.states.get(processor)?.get(customer);
  }

  private step(p: Processor<unknown>, customer: string, input: ProcessorInput): ProcessorOutput[] {
    const states = this.states.get(p.name) ?? new Map<string, unknown>();
    const timers = this.timers.get(p.name) ?? new Map<string, number>();
    const { state, outputs } = p.reduce(states.get(customer), input, this.now);
    if (state === undefined) {
      states.delete(customer);
      timers.delete(customer);
    } else {
      const stored = p.codec.decode(p.codec.encode(state));
      states.set(customer, stored);
      const at = p.nextTimer(stored, this.now);
      if (at === undefined) timers.delete(customer);
      else timers.set(customer, at);
    }
    return outputs;
  }
}
