/**
 * The checks of the kafkajs exactly-once runner before it processes or commits: whether this
 * member still owns its partitions ({@link Membership}, from kafkajs's group events), and the
 * group's committed offset below which input was already committed ({@link OffsetFloors}).
 */
import type { Admin } from 'kafkajs';
import { fetchStableOffset } from '../offsets.js';
import type { ExactlyOnceOptions } from './options.js';

/**
 * Not sure this member still owns its partitions: no successful heartbeat for most of a session
 * timeout (the coordinator may have dropped it and given them to another member), or a
 * rebalance under way. The transaction is aborted and retried once that clears.
 */
export class OwnershipUncertainError extends Error {
  readonly type = 'OWNERSHIP_UNCERTAIN';
  constructor(reason: string) {
    super(`not committing: ${reason}`);
    this.name = 'OwnershipUncertainError';
  }
}

/** This member's place in its consumer group, as kafkajs's events report it. */
export class Membership {
  /** In the group with an assignment: from a join until a stop or a crash kafkajs gives up on. */
  member = false;
  private memberId: string | undefined;
  /** Epoch ms of the last successful heartbeat (or group join). */
  lastHeartbeatAt = 0;
  /** From kafkajs's REBALANCING until the next join. */
  rebalancing = false;
  /** Input partitions assigned to this member, per topic. */
  assignment: Record<string, number[]> = {};

  constructor(private readonly options: Pick<ExactlyOnceOptions, 'sessionTimeoutMs'>) {}

  /**
   * The group assigned `memberAssignment` to this member (kafkajs's GROUP_JOIN). True when it
   * joined again as a new member (`rejoined`: see {@link ExactlyOnceOptions.onAssignment}).
   */
  join(memberAssignment: Record<string, number[]>, memberId: string): boolean {
    this.member = true;
    this.rebalancing = false;
    this.lastHeartbeatAt = Date.now();
    this.assignment = memberAssignment;
    const rejoined = this.memberId !== undefined && this.memberId !== memberId;
    this.memberId = memberId;
    return rejoined;
  }

  /**
   * The last check before a commit. kafkajs predates KIP-447: its offset commits carry no group
   * generation, so the broker cannot refuse a member the group has dropped (a "zombie" that has
   * not noticed yet). Fencing covers a zombie whose producer the new owner has initialised; this
   * covers the window before that: a member is dropped only after a session timeout without a
   * heartbeat, so one that heartbeated within most of that time is still a member.
   */
  assertOwnership(): void {
    if (this.rebalancing) throw new OwnershipUncertainError('a rebalance is under way');
    const silentMs = Date.now() - this.lastHeartbeatAt;
    const limitMs = 0.8 * (this.options.sessionTimeoutMs ?? 30_000);
    if (silentMs > limitMs)
      throw new OwnershipUncertainError(
        `no successful heartbeat for ${String(silentMs)} ms (the session times out at ${String(this.options.sessionTimeoutMs ?? 30_000)} ms)`,
      );
  }
}

/**
 * Committed input offsets per `topic:partition`, read after a producer was (re)created. Before
 * KIP-447 a consumer may fetch its start offset while the previous owner's commit is still
 * pending, and a commit whose outcome was unknown may have landed: once the new producer is
 * initialised (which completes or aborts what its transactional id left open), the group's
 * committed offset is the truth, and records below it are skipped.
 */
export class OffsetFloors {
  private readonly committedFloor = new Map<string, bigint>();

  constructor(
    private readonly admin: Admin,
    private readonly groupId: string,
  ) {}

  async floorOf(topic: string, partition: number): Promise<bigint> {
    const id = `${topic}:${partition}`;
    const known = this.committedFloor.get(id);
    if (known !== undefined) return known;
    // stable: the previous owner's (or our own unknown) commit may not be applied yet
    const committed = await fetchStableOffset(this.admin, this.groupId, topic, partition);
    const floor = committed < 0n ? 0n : committed;
    this.committedFloor.set(id, floor);
    return floor;
  }

  /** This member committed `topic`/`partition` up to `lastOffset`: its floor is the next one. */
  committed(topic: string, partition: number, lastOffset: string): void {
    this.committedFloor.set(`${topic}:${partition}`, BigInt(lastOffset) + 1n);
  }

  /** Forgets every floor: they are read again (a new producer may have completed a pending commit). */
  clear(): void {
    this.committedFloor.clear();
  }
}
