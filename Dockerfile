# One image for the API and the workers: Node 20, ffmpeg, the app with its studio built.
FROM node:20-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx vite build
# The container listens on every interface, so `serve` needs LAB_AUTH=on (compose sets it) or,
# behind a proxy that authenticates, LAB_ALLOW_NO_AUTH=on: without either it refuses to start.
ENV HOST=0.0.0.0 PORT=8080 LAB_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["node", "engine/cli/bin.mjs"]
CMD ["serve"]
