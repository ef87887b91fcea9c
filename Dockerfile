# syntax=docker/dockerfile:1
# Build stage: better-sqlite3 compiles with node-gyp here (no prebuilt download), then dev dependencies are dropped.
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
RUN npm ci && npm prune --omit=dev

# Runtime stage: no compiler, no dev dependencies, a non-root user, and node as PID 1's direct command so SIGTERM
# reaches Airlock's own drain logic.
FROM node:20-bookworm-slim
ENV NODE_ENV=production AIRLOCK_DATA_DIR=/data PORT=8080
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY tasks ./tasks
COPY corpus ./corpus
# The admin console is static files served from the package, not compiled output.
COPY src/console ./src/console
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/src/main.js"]
