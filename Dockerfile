# syntax=docker/dockerfile:1
# The gateway image: Node 24 runs the TypeScript sources directly (type stripping), no build step.
# test/dockerfile.test.ts checks its shape (stages, user, production dependencies, health check,
# copied paths); deploy/compose.yaml runs it in the production shape.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only: the `node` devDependency (the project's pinned Node for its scripts)
# and every other devDependency stay out; the base image is the Node 24 that runs the gateway.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# A static busybox for the health check: `wget` in a few hundred KiB, instead of a second Node
# process (~40 MiB, ~50 ms of CPU) started on every probe. Nothing else of busybox is installed.
FROM busybox:1.37-musl AS probe

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
COPY --from=probe /bin/busybox /usr/local/bin/busybox
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY routes ./routes
COPY schemas ./schemas
COPY asyncapi ./asyncapi
COPY ui ./ui
# The unprivileged user of the Node images (uid 1000); the sources stay root-owned and read-only to it.
USER node
EXPOSE 8080
# Prometheus metrics (GET /metrics), reachable by a scraper outside the container.
ENV METRICS_HOST=0.0.0.0
EXPOSE 9464
# NATS_URL must point at NATS with JetStream (docker-compose.yml, deploy/compose.yaml): this image
# ships no dev/, so there is no embedded nats-server. Liveness on /healthz (the process answers);
# load balancers probe /readyz, which also turns 503 while NATS is unreachable and from SIGTERM on.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD busybox wget -q -T 2 -O /dev/null "http://127.0.0.1:${PORT}/healthz" || exit 1
STOPSIGNAL SIGTERM
CMD ["node", "src/main.ts"]
