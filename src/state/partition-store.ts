import fs from 'node:fs';
import path from 'node:path';

/**
 * One partition's state for every processor: the index in memory, the values in a file.
 *
 * A customer's state is written to its changelog in the transaction that changed it, so this store
 * is only a working copy — rebuilt from the changelog whenever the partition is (re)assigned,
 * discarded when it moves away or the process stops. It holds the values on disk because 1M
 * customers' states are larger than the memory a processor should need (about 400 bytes each, two
 * processors): the file is read with `pread`, so the kernel caches it as page cache that does not
 * count towards, nor is held by, the process (a memory-mapped store such as LMDB or LevelDB maps
 * the pages it reads into the process: measured 680 MB resident for 1M states).
 *
 * What stays in memory per customer: its key in one Map, and per store a value's offset and length
 * and a deadline, in typed arrays indexed by the customer's slot — about 100 bytes in all. The file
 * is append-only; when less than half of it is live it is rewritten (compaction).
 */
export class PartitionStore {
  private readonly index = new Map<string, number>();
  private keys: (string | undefined)[] = [];
  /** Per slot and store: where the value starts in the file (a file is kept under 4 GiB). */
  private offsets: Uint32Array;
  /** Per slot and store: the value's length, 0 for none. */
  private lengths: Uint32Array;
  /** Per slot and store: the next deadline, NaN for none. */
  private timers: Float64Array;
  private readonly free: number[] = [];
  private slots = 0;
  private readonly counts: number[];
  private liveBytes = 0;
  private log: ValueLog;
  /** No deadline is before this (a lower bound; exact after each scan). */
  private nextDue = Infinity;

  constructor(
    private readonly dir: string,
    private readonly name: string,
    private readonly stores: number,
    private readonly compactAboveBytes = 64 * 1024 * 1024,
  ) {
    this.log = new ValueLog(path.join(dir, `${name}.0.values`));
    this.offsets = new Uint32Array(1024 * stores);
    this.lengths = new Uint32Array(1024 * stores);
    this.timers = new Float64Array(1024 * stores).fill(NaN);
    this.counts = new Array<number>(stores).fill(0);
  }

  /** Customers with a value in `store`. */
  size(store: number): number {
    return this.counts[store] ?? 0;
  }

  get(store: number, customer: string): Buffer | undefined {
    const slot = this.index.get(customer);
    if (slot === undefined) return undefined;
    const at = slot * this.stores + store;
    const length = this.lengths[at] ?? 0;
    return length === 0 ? undefined : this.log.read(this.offsets[at] ?? 0, length);
  }

  /**
   * Sets (or, with `value` null, deletes) a customer's value in `store`, and its next deadline
   * there (undefined: none). Written to the file on `flush()` (or when the write buffer fills).
   */
  put(store: number, customer: string, value: Buffer | null, deadline: number | undefined): void {
    let slot = this.index.get(customer);
    if (slot === undefined) {
      if (value === null) return;
      slot = this.allocate(customer);
    }
    const at = slot * this.stores + store;
    const old = this.lengths[at] ?? 0;
    if (old > 0) {
      this.liveBytes -= old;
      this.counts[store] = (this.counts[store] ?? 0) - 1;
    }
    if (value === null || value.length === 0) {
      this.lengths[at] = 0;
      this.timers[at] = NaN;
      if (!this.holdsAny(slot)) this.release(customer, slot);
      return;
    }
    this.offsets[at] = this.appendValue(value);
    this.lengths[at] = value.length;
    this.liveBytes += value.length;
    this.counts[store] = (this.counts[store] ?? 0) + 1;
    this.setTimer(at, deadline);
  }

  /** Sets a customer's deadline in `store` alone (its value unchanged). */
  setDeadline(store: number, customer: string, deadline: number | undefined): void {
    const slot = this.index.get(customer);
    if (slot !== undefined) this.setTimer(slot * this.stores + store, deadline);
  }

  /**
   * The customers whose deadline in a store has passed and `mayFire` allows, by store. A scan of
   * the deadlines (typed arrays), skipped until the earliest one is due.
   */
  due(now: number, mayFire: (at: number) => boolean): { customer: string; store: number }[] {
    if (this.nextDue > now) return [];
    const out: { customer: string; store: number }[] = [];
    let earliest = Infinity;
    const end = this.slots * this.stores;
    for (let at = 0; at < end; at++) {
      const t = this.timers[at] ?? NaN;
      if (Number.isNaN(t)) continue;
      if (t < earliest) earliest = t;
      if (t <= now && mayFire(t)) {
        const customer = this.keys[Math.floor(at / this.stores)];
        if (customer !== undefined) out.push({ customer, store: at % this.stores });
      }
    }
    this.nextDue = earliest;
    return out;
  }

  /** The earliest deadline in any store, or undefined for none (a full scan: for stepping time in tests). */
  nextDeadline(): number | undefined {
    let earliest = Infinity;
    const end = this.slots * this.stores;
    for (let at = 0; at < end; at++) {
      const t = this.timers[at] ?? NaN;
      if (t < earliest) earliest = t;
    }
    return earliest === Infinity ? undefined : earliest;
  }

  /** Writes buffered values to the file, and compacts it when most of it is dead. */
  flush(): void {
    this.log.flush();
    if (this.log.size > this.compactAboveBytes && this.log.size > 2 * this.liveBytes)
      this.compact();
  }

  /** Bytes of the values file (tests, metrics). */
  fileBytes(): number {
    return this.log.size;
  }

  /** Closes and deletes the file. The store is unusable afterwards. */
  destroy(): void {
    this.log.destroy();
    this.index.clear();
    this.keys = [];
  }

  private appendValue(value: Buffer): number {
    if (this.log.size + value.length > MAX_FILE_BYTES) {
      this.log.flush();
      this.compact();
      if (this.log.size + value.length > MAX_FILE_BYTES)
        throw new Error(
          `the state of ${this.name} outgrew its file (${String(MAX_FILE_BYTES)} bytes): spread it over more partitions`,
        );
    }
    return this.log.append(value);
  }

  private setTimer(at: number, deadline: number | undefined): void {
    if (deadline === undefined) {
      this.timers[at] = NaN;
      return;
    }
    this.timers[at] = deadline;
    if (deadline < this.nextDue) this.nextDue = deadline;
  }

  private holdsAny(slot: number): boolean {
    for (let s = 0; s < this.stores; s++)
      if ((this.lengths[slot * this.stores + s] ?? 0) > 0) return true;
    return false;
  }

  private allocate(customer: string): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.slots++;
      if (slot * this.stores >= this.lengths.length) this.grow();
    }
    this.index.set(customer, slot);
    this.keys[slot] = customer;
    return slot;
  }

  private release(customer: string, slot: number): void {
    this.index.delete(customer);
    this.keys[slot] = undefined;
    this.free.push(slot);
  }

  private grow(): void {
    // by half again, not double: at 1M customers the arrays are most of what this store holds
    const size = Math.ceil((this.lengths.length * 1.5) / this.stores) * this.stores;
    const offsets = new Uint32Array(size);
    offsets.set(this.offsets);
    const lengths = new Uint32Array(size);
    lengths.set(this.lengths);
    const timers = new Float64Array(size).fill(NaN);
    timers.set(this.timers);
    this.offsets = offsets;
    this.lengths = lengths;
    this.timers = timers;
  }

  /** Copies the live values into a new file, in slot order, and deletes the old one. */
  private compact(): void {
    const old = this.log;
    const next = new ValueLog(
      path.join(this.dir, `${this.name}.${String(old.generation + 1)}.values`),
    );
    next.generation = old.generation + 1;
    const end = this.slots * this.stores;
    for (let at = 0; at < end; at++) {
      const length = this.lengths[at] ?? 0;
      if (length > 0) this.offsets[at] = next.append(old.read(this.offsets[at] ?? 0, length));
    }
    next.flush();
    old.destroy();
    this.log = next;
  }
}

/** Offsets are 32-bit: at ~400 bytes a customer, 10M customers in one partition. */
const MAX_FILE_BYTES = 2 ** 32 - 1;

/** Bytes gathered before a write: appends copy into it, so the caller's buffers die young. */
const WRITE_BUFFER_BYTES = 256 * 1024;

/**
 * An append-only file of values, written in batches and read at offsets. Appended values are
 * copied into a write buffer rather than kept: a restore's values are slices of kafkajs's fetch
 * responses, and holding them until a write kept whole responses alive into V8's old generation.
 */
class ValueLog {
  generation = 0;
  /** Bytes appended, buffered ones included. */
  size = 0;
  private readonly fd: number;
  private readonly buffer = Buffer.allocUnsafeSlow(WRITE_BUFFER_BYTES);
  private buffered = 0;
  private flushed = 0;

  constructor(private readonly file: string) {
    this.fd = fs.openSync(file, 'w+', 0o600);
  }

  append(value: Buffer): number {
    const offset = this.size;
    if (this.buffered + value.length > this.buffer.length) this.flush();
    if (value.length > this.buffer.length) this.write(value);
    else {
      value.copy(this.buffer, this.buffered);
      this.buffered += value.length;
    }
    this.size += value.length;
    return offset;
  }

  read(offset: number, length: number): Buffer {
    if (offset + length > this.flushed) this.flush();
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, out, done, length - done, offset + done);
      if (n === 0) throw new Error(`state file ${this.file} ends before offset ${String(offset)}`);
      done += n;
    }
    return out;
  }

  flush(): void {
    if (this.buffered === 0) return;
    this.write(this.buffer.subarray(0, this.buffered));
    this.buffered = 0;
  }

  destroy(): void {
    fs.closeSync(this.fd);
    fs.rmSync(this.file, { force: true });
  }

  /** Writes `bytes` at the end of what is on disk (a write may take fewer bytes than asked). */
  private write(bytes: Buffer): void {
    let done = 0;
    while (done < bytes.length)
      done += fs.writeSync(this.fd, bytes, done, bytes.length - done, this.flushed + done);
    this.flushed += bytes.length;
  }
}
