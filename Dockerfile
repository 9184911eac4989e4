# Governor as a container. The steps are those test/package/pack.test.ts exercises on every test run: pack the
# built package, install the tarball for production (--omit=dev), run the `governor` it installs. (This repository's
# machines cannot run `docker build`; keep these steps and the test's in step.)

# Node 24 LTS, pinned to 24.18.1: better-sqlite3 12 compiled against Node 24.19+ headers aborts the process ("Assertion
# failed: (env) != nullptr" in RemoveEnvironmentCleanupHook, nodejs/node#65446). Move on when better-sqlite3 13
# (N-API) is adopted. Both stages must use the same Node: the addon is compiled in the first and run in the second.
ARG NODE_IMAGE=node:24.18.1-bookworm-slim

# Build: the checkout's dependencies (lockfile), the compiled dist/ (npm ci runs `prepare`), then the tarball, then
# its production install, which compiles better-sqlite3 for this image's Node.
FROM ${NODE_IMAGE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund && npm pack --ignore-scripts --pack-destination /tmp
WORKDIR /app
RUN echo '{"private":true}' > package.json \
 && npm install --omit=dev --no-audit --no-fund /tmp/agent-governor-*.tgz

# Run: only the production install, as an unprivileged user; the audit trail and inbox on a volume.
FROM ${NODE_IMAGE}
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
