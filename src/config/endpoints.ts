/** Where the services find Kafka and the schema registry: plain configuration, whoever started them. */
export interface Endpoints {
  readonly brokers: readonly string[];
  readonly registryUrl: string;
}
