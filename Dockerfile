# syntax=docker/dockerfile:1
# The refreshbus image: one image for every deployable (`ingest`, `normalize`, `process`, `all`),
# chosen by the command. Multi-stage: the TypeScript build and dev dependencies stay in the build
# stage; the runtime holds production dependencies, dist/ without the tooling, bin/ and schemas/ (read at start to
# register the Avro schemas), and runs as the unprivileged `node` user (uid 1000); the code stays
# root-owned, read-only to it.
#
#   docker build -t refreshbus .
#   docker run --rm -e KAFKA_BROKERS=… -e SCHEMA_REGISTRY_URL=… refreshbus normalize
#
# docker-compose.yml runs the three services beside Kafka and the registry (profile `app`).

# Node 22: a long-term-support line until April 2027 (Node 20 reached its end of life in April 2026)
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
# the Kafka client (@confluentinc/kafka-javascript) builds librdkafka from the source in its npm
# package, linked against the system's OpenSSL and zlib (CKJS_LINKING=dynamic: the static build
# would download their sources, and its prebuilt binary comes from GitHub)
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
     g++ make python3 libssl-dev zlib1g-dev \
  && rm -rf /var/lib/apt/lists/*
ENV CKJS_LINKING=dynamic
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
# `prepare` would run the build before the sources are here: install first, build after;
# `postinstall` (patch-package: the fixes in patches/ to dependencies) and the Kafka client's
# native build are run by hand for that reason
RUN npm ci --ignore-scripts --no-audit --no-fund && npx patch-package --error-on-fail \
  && npm rebuild @confluentinc/kafka-javascript
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# the services, the CLI and the operator commands; the development tooling (src/tools: the local
# stack, the simulator, the demo) stays out of the image, and the CLI offers its commands only
# where it is installed (src/cli/main.ts, loadToolCommands)
RUN npm run build && rm -rf dist/tools

FROM ${NODE_IMAGE} AS production-deps
WORKDIR /app
COPY package.json package-lock.json ./
# no scripts: `prepare` (the build) is done in the build stage; production dependencies are plain
# JS but for the Kafka client, whose native build is taken from the build stage
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# kafkajs as patched in the build stage (patches/: patch-package is a dev dependency); kafkajs has
# no dependencies of its own
COPY --from=build /app/node_modules/kafkajs ./node_modules/kafkajs
# the Kafka client with its native module and librdkafka (build/deps, found by rpath)
COPY --from=build /app/node_modules/@confluentinc/kafka-javascript ./node_modules/@confluentinc/kafka-javascript

FROM ${NODE_IMAGE} AS runtime
# librdkafka's shared libraries: OpenSSL (node links its own) and zlib
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libssl3 zlib1g \
  && rm -rf /var/lib/apt/lists/*
# in a container the services listen beyond loopback, or published ports could not reach them;
# a route with *_AUTH=none is then refused at start unless explicitly allowed
ENV NODE_ENV=production \
    INGEST_HOST=0.0.0.0 \
    OPS_HOST=0.0.0.0
WORKDIR /app
COPY --from=production-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY schemas ./schemas
# the image's unprivileged `node` user, by number so Kubernetes' runAsNonRoot can verify it
USER 1000:1000
# ingest HTTP; normalize and process /healthz, /readyz, /metrics (INGEST_PORT, NORMALIZE_OPS_PORT, PROCESS_OPS_PORT)
EXPOSE 8080 9464 9465
# liveness of whichever service this container runs (the slim image has no curl: node's fetch)
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "const e = process.env; Promise.any([e.INGEST_PORT || 8080, e.NORMALIZE_OPS_PORT || 9464, e.PROCESS_OPS_PORT || 9465].map((p) => fetch('http://127.0.0.1:' + p + '/healthz').then((r) => { if (!r.ok) throw new Error(String(r.status)); }))).then(() => process.exit(0), () => process.exit(1));"]
ENTRYPOINT ["node", "bin/refreshbus.js"]
CMD ["all"]
