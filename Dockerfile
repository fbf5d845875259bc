# syntax=docker/dockerfile:1
# tcpstate-exporter on Node.js 24 (Active LTS). See docs/install.md#the-container-image.

# Build stage: compile TypeScript with the full dev toolchain, then keep production dependencies.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime stage: production dependencies and compiled JS only, as an unprivileged user.
FROM node:24-bookworm-slim
LABEL org.opencontainers.image.title="tcpstate-exporter" \
      org.opencontainers.image.description="Prometheus exporter for the Linux TCP socket table" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY LICENSE README.md ./
# The socket, sockstat, netstat and sysctl collectors need no privilege. --collector.process
# needs root with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (docs/security.md), and degrades to
# process="unknown" without them.
USER 65534:65534
EXPOSE 9977
# No curl in the image: Node's own fetch asks /-/healthy. Set TCPSTATE_HEALTHCHECK_URL when you
# change --web.listen-address (or serve TLS: the check does not trust a self-signed certificate).
ENV TCPSTATE_HEALTHCHECK_URL=http://127.0.0.1:9977/-/healthy
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.TCPSTATE_HEALTHCHECK_URL, { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/main.js"]
