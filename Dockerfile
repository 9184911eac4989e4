# Governor as a container. The steps are those test/package/pack.test.ts exercises on every test run: pack the
# built package, install the tarball for production (--omit=dev), run the `governor` it installs. (This repository's
# machines cannot run `docker build`; keep these steps and the test's in step.)

# Build: the checkout's dependencies (lockfile), the compiled dist/ (npm ci runs `prepare`), then the tarball, then
# its production install, which compiles better-sqlite3 for this image's Node.
FROM node:24-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund && npm pack --ignore-scripts --pack-destination /tmp
WORKDIR /app
RUN echo '{"private":true}' > package.json \
 && npm install --omit=dev --no-audit --no-fund /tmp/agent-governor-*.tgz

# Run: only the production install, as an unprivileged user; the audit trail and inbox on a volume.
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    DATABASE_PATH=/data/governor.db \
    PORT=3000 \
    HOST=0.0.0.0 \
    LOG_FORMAT=json
COPY --from=build /app /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/app/node_modules/.bin/governor"]
CMD ["serve"]
