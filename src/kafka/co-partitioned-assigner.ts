import { AssignerProtocol } from 'kafkajs';
import type { PartitionAssigner } from 'kafkajs';

/** Spreads partition numbers over members, round robin, so each member gets whole partition numbers. */
export function coPartitionedAssignment(
  memberIds: readonly string[],
  partitionsByTopic: Readonly<Record<string, number[]>>,
): Record<string, Record<string, number[]>> {
  const members = [...memberIds].sort();
  const numbers = [...new Set(Object.values(partitionsByTopic).flat())].sort((a, b) => a - b);
  const assignment: Record<string, Record<string, number[]>> = {};
  for (const id of members) assignment[id] = {};
  numbers.forEach((p, i) => {
    const member = members[i % members.length];
    if (member === undefined) return;
    for (const [topic, partitions] of Object.entries(partitionsByTopic)) {
      if (!partitions.includes(p)) continue;
      const forMember = (assignment[member] ??= {});
      (forMember[topic] ??= []).push(p);
    }
  });
  return assignment;
}

/**
 * A kafkajs assigner that gives partition N of every subscribed topic to the same member: inputs
 * keyed alike (customer id) and partitioned alike land where that customer's state lives.
 */
export const CoPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: 'RefreshbusCoPartitioned',
  version: 1,
  assign({ members, topics }) {
    const partitionsByTopic = Object.fromEntries(
      topics.map((topic) => [
        topic,
        cluster.findTopicPartitionMetadata(topic).map((m) => m.partitionId),
      ]),
    );
    const assignment = coPartitionedAssignment(
      members.map((m) => m.memberId),
      partitionsByTopic,
    );
    return Promise.resolve(
      Object.entries(assignment).map(([memberId, topicPartitions]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: topicPartitions,
          userData: Buffer.alloc(0),
        }),
      })),
    );
  },
  protocol({ topics }) {
    return {
      name: 'RefreshbusCoPartitioned',
      metadata: AssignerProtocol.MemberMetadata.encode({
        version: 1,
        topics,
        userData: Buffer.alloc(0),
      }),
    };
  },
});
