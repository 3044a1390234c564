# syntax=docker/dockerfile:1
# One image for every mesh process; the command picks the service, e.g.
#   node dist/services/gateway/main.js
#   node dist/services/webhook/main.js --role worker
#   node dist/deploy/migrate.js

# Build: full install (tsc and Vite are devDependencies), compile to dist/ and bundle the console.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY deploy/build-dist.mjs deploy/build-console.mjs deploy/migrate.ts ./deploy/
COPY gen ./gen
COPY services ./services
COPY console ./console
RUN npm run build

# Runtime dependencies only, installed apart so no build tool reaches the image.
FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:20-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
# The files stay root-owned and read-only to the process; it writes only to
# /tmp (an emptyDir in Kubernetes), so the root filesystem can be read-only.
# Numeric (the image's "node" user) so runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8080 8081 8082 8083 8084
ENTRYPOINT ["node"]
CMD ["dist/services/gateway/main.js"]
