# syntax=docker/dockerfile:1
# Multi-stage build of durable-server. (Not exercised in CI: the CI machine
# has no Docker engine. Kept correct by reading.)

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p durable-app --bin durable-server \
 && cp target/release/durable-server /usr/local/bin/durable-server

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/durable --create-home durable
COPY --from=build /usr/local/bin/durable-server /usr/local/bin/durable-server
USER durable
WORKDIR /var/lib/durable
ENV DURABLE_LISTEN=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///var/lib/durable/durable.db
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["/usr/local/bin/durable-server"]
