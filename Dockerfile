# One build for both services; pick one with `--target command-service` or `--target query-service`
# (docker-compose.yml does). Node 22: @nestjs/common 12 pulls file-type 22, which needs Node >= 22.
ARG NODE_IMAGE=node:22-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# The project approves no dependency install scripts (package.json "allowScripts"); npm 10 in
# the image does not read that list, so skip them explicitly.
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM deps AS sources
COPY nest-cli.json tsconfig.json ./
COPY libs ./libs
COPY apps ./apps

FROM sources AS build-command-service
RUN npx nest build command-service

FROM sources AS build-query-service
RUN npx nest build query-service

FROM deps AS prod-deps
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and only readable by `node`: the service cannot rewrite its own code.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
USER node

FROM runtime AS command-service
COPY --from=build-command-service /app/dist/apps/command-service ./dist/apps/command-service
ENV PORT=3000
EXPOSE 3000
CMD ["node", "dist/apps/command-service/apps/command-service/src/main.js"]

FROM runtime AS query-service
COPY --from=build-query-service /app/dist/apps/query-service ./dist/apps/query-service
ENV PORT=3001
EXPOSE 3001
CMD ["node", "dist/apps/query-service/apps/query-service/src/main.js"]
