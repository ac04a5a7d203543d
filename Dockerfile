# One image for every taskmesh app; the compose service picks the app with its command.
FROM node:22-bookworm-slim AS build
WORKDIR /app
# The workspace manifests first, so the dependency layer is rebuilt only when they change.
COPY package.json package-lock.json ./
COPY libs/protocol/package.json libs/protocol/
COPY libs/client/package.json libs/client/
COPY libs/cli/package.json libs/cli/
COPY libs/nats/package.json libs/nats/
COPY libs/runtime/package.json libs/runtime/
COPY libs/worker-core/package.json libs/worker-core/
COPY libs/worker/package.json libs/worker/
COPY libs/testing/package.json libs/testing/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.lib.json nest-cli.json ./
COPY scripts ./scripts
COPY apps ./apps
COPY libs ./libs
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
# The @taskmesh/* packages the apps import are workspace links into libs/: their manifests and built dist.
COPY --from=build /app/libs ./libs
COPY --from=build /app/dist ./dist
COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs
USER node
CMD ["node", "dist/apps/router/main.js"]
