# Portcullis as a container: the firewall proxy in HTTP mode with its approvals UI, data in /data.
#
# Build:  docker build -t portcullis .
# Run:    docker run --rm -v ./policy.yml:/config/policy.yml:ro -v portcullis-data:/data \
#           -p 127.0.0.1:3000:3000 -p 127.0.0.1:8787:8787 portcullis
#
# EXPOSURE WARNING. Inside the container the proxy binds 0.0.0.0 (a port mapping cannot reach
# 127.0.0.1), so it counts as reachable and, closed by default, REFUSES TO START unless the policy
# mounted at /config/policy.yml declares agents with keys (agents: with key_sha256); every MCP client
# then needs its Bearer key. The image does not pass --allow-anonymous and ships no policy of its own.
# The approvals UI lets whoever signs in decide calls: publish both ports on 127.0.0.1 (as above)
# unless you mean other hosts to reach them. The UI answers only the Host names 127.0.0.1, localhost
# and [::1] at its own port, so keep the host port equal to the container port (8787:8787).
#
# BASE is the runtime image; the same file builds on a locally made Debian + Node 20 image where no
# registry is reachable (scripts/check-image.sh passes --build-arg BASE=localhost/portcullis-base).
ARG BASE=node:20-bookworm-slim

# better-sqlite3 is a native addon. It is compiled here from source against the Node headers the base
# ships in /usr/local/include/node, so the build needs neither GitHub (its prebuilt binaries) nor
# nodejs.org (node-gyp's header download), and the runtime image carries no compiler.
FROM ${BASE} AS toolchain
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local \
    npm_config_build_from_source=true \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
WORKDIR /app
COPY package.json package-lock.json ./

# Build stage: all dependencies (TypeScript among them), then the compiled dist/.
# --ignore-scripts: the package's `prepare` (a build) must wait for the sources; only the two
# addons that need their install step get it, through npm rebuild.
FROM toolchain AS build
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only, copied into the runtime stage. The addon was compiled once in the
# build stage from the same lockfile, toolchain and headers: its build/ is taken from there.
FROM toolchain AS deps
RUN npm ci --omit=dev --ignore-scripts
COPY --from=build /app/node_modules/better-sqlite3/build ./node_modules/better-sqlite3/build

FROM ${BASE} AS runtime
ENV NODE_ENV=production
# A fixed non-root uid, so a host directory mounted at /data can be chowned to it (10001).
# `portcullis` on PATH too, for `docker exec ... portcullis audit tail` and the like.
RUN groupadd --system --gid 10001 portcullis \
 && useradd --system --uid 10001 --gid portcullis --home-dir /data --shell /usr/sbin/nologin portcullis \
 && mkdir -p /data /config \
 && chown portcullis:portcullis /data \
 && ln -s /app/dist/src/cli.js /usr/local/bin/portcullis
WORKDIR /app
COPY package.json package-lock.json policy.example.yml ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY schema ./schema
COPY ui ./ui
COPY policies ./policies
USER portcullis
# The approvals database, the audit chain, pins and the UI token live here: keep it on a volume.
VOLUME ["/data"]
# 3000: MCP over Streamable HTTP at /mcp (Bearer keys). 8787: approvals UI, /health/*, /metrics.
EXPOSE 3000 8787
# No curl in slim images: Node's own fetch. Ready means the audit log can be written.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8787/health/ready').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/src/cli.js"]
CMD ["run", "--policy", "/config/policy.yml", "--http", "3000", "--host", "0.0.0.0", "--ui", "8787", "--ui-host", "0.0.0.0", "--data-dir", "/data"]
