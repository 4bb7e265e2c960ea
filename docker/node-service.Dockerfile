# syntax=docker/dockerfile:1
# One image recipe for every Node service of the monorepo (build context: the repo root):
#   docker build -f docker/node-service.Dockerfile --build-arg PACKAGE_DIR=services/health .
# Stage 1 installs the workspace and compiles the package and its references; `pnpm deploy`
# then copies just that package with its production dependencies (workspace libs included).
# Stage 2 is node:22-alpine with that copy, run by the unprivileged `node` user under tini,
# which forwards SIGTERM so the service drains NATS and finishes in-flight work before it exits.
ARG NODE_IMAGE=node:22-alpine

FROM ${NODE_IMAGE} AS build
ARG PACKAGE_DIR
RUN test -n "$PACKAGE_DIR" || (echo "set --build-arg PACKAGE_DIR=services/<name>" >&2; exit 1)
ENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0
RUN corepack enable
WORKDIR /repo
COPY . .
RUN --mount=type=cache,id=pnpm-store,target=/root/.local/share/pnpm/store \
    pnpm install --frozen-lockfile
RUN pnpm exec tsc -b "$PACKAGE_DIR"
RUN pnpm --filter "./$PACKAGE_DIR" deploy --prod --legacy /out \
 && cp docker/healthcheck.mjs /out/healthcheck.mjs

FROM ${NODE_IMAGE}
ARG MAIN=dist/main.js
RUN apk add --no-cache tini
ENV NODE_ENV=production \
    AVB_MAIN=${MAIN}
WORKDIR /app
COPY --from=build --chown=root:root /out/ ./
USER node
STOPSIGNAL SIGTERM
ENTRYPOINT ["/sbin/tini", "--"]
CMD ["sh", "-c", "exec node \"$AVB_MAIN\""]
