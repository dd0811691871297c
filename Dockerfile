# syntax=docker/dockerfile:1
# The refreshbus image: one image for every deployable (`ingest`, `normalize`, `process`, `all`),
# chosen by the command. Multi-stage: the TypeScript build and dev dependencies stay in the build
# stage; the runtime holds production dependencies, dist/, bin/ and schemas/ (read at start to
# register the Avro schemas), and runs as the unprivileged `node` user (uid 1000); the code stays
# root-owned, read-only to it.
#
#   docker build -t refreshbus .
#   docker run --rm -e KAFKA_BROKERS=… -e SCHEMA_REGISTRY_URL=… refreshbus normalize
#
# docker-compose.yml runs the three services beside Kafka and the registry (profile `app`).

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
# `prepare` would run the build before the sources are here: install first, build after;
# `postinstall` (patch-package: the fixes in patches/ to dependencies) is run by hand for that reason
RUN npm ci --ignore-scripts --no-audit --no-fund && npx patch-package --error-on-fail
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS production-deps
WORKDIR /app
COPY package.json package-lock.json ./
# no scripts: `prepare` (the build) is done in the build stage; production dependencies are plain JS
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# kafkajs as patched in the build stage (patches/: patch-package is a dev dependency); kafkajs has
# no dependencies of its own
COPY --from=build /app/node_modules/kafkajs ./node_modules/kafkajs

FROM ${NODE_IMAGE} AS runtime
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
