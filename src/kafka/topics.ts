import type { Admin, ITopicConfig } from 'kafkajs';

/** Creates the topics that do not exist yet and waits for their leaders; existing topics are left as they are. */
export async function ensureTopics(
  admin: Admin,
  topics: readonly ITopicConfig[],
): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (missing.length === 0) return [];
  await admin.createTopics({ topics: missing, waitForLeaders: true });
  return missing.map((t) => t.topic);
}
