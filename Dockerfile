# syntax=docker/dockerfile:1
# The gateway image: Node 24 runs the TypeScript sources directly (type stripping), no build step.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only (the `node` devDependency is not needed: the image is Node 24).
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY routes ./routes
COPY schemas ./schemas
COPY asyncapi ./asyncapi
USER node
EXPOSE 8080
# Prometheus metrics (GET /metrics), reachable by a scraper outside the container.
ENV METRICS_HOST=0.0.0.0
EXPOSE 9464
# NATS_URL must point at a NATS cluster with JetStream (see docker-compose.yml); without it the
# gateway would try to run an embedded nats-server, which this image does not ship.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "src/main.ts"]
