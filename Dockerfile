# syntax=docker/dockerfile:1
# keel in a container: `keel run` as user 10001, its data in /var/lib/keel.
#
#   docker build -t keel .
#   docker run -d --name keel --env-file keel.env -v keel-data:/var/lib/keel \
#       -p 127.0.0.1:8080:8080 keel
#
# Settings come from KEEL_<SECTION>__<KEY> variables (see config/keel.example.toml), or from a
# file mounted read-only and named after the command: `… keel run --config /etc/keel/keel.toml`.
# Without KEEL_DATABASE_URL keel uses the embedded SQLite file /var/lib/keel/keel.db (with the
# inbox journal keel.db-inbox/ beside it) and keeps its Matrix session in /var/lib/keel/keel-matrix:
# keep /var/lib/keel on a volume. docker-compose.yml runs it with PostgreSQL and Synapse.

# The Rust release of the workspace's rust-version, on the Debian release of the runtime image.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The registry and target/ are BuildKit cache mounts: a rebuild after a source change compiles
# keel's own crates only, not the dependencies again.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p keel \
    && install -m 0755 target/release/keel /usr/local/bin/keel

FROM debian:bookworm-slim
# ca-certificates: the TLS roots for Slack and for a homeserver on https.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 keel \
    && useradd --system --uid 10001 --gid keel --home-dir /var/lib/keel --shell /usr/sbin/nologin keel \
    && install -d -o keel -g keel -m 0750 /var/lib/keel
COPY --from=build /usr/local/bin/keel /usr/local/bin/keel
# The playbooks sit in the image, not in the data volume, so that a new image brings its own
# (the two shipped ones are also built into the binary). Mount a directory here for your own.
COPY config/playbooks /etc/keel/playbooks
# 0.0.0.0: keel's default 127.0.0.1:8080 cannot be reached from outside the container.
ENV KEEL_HTTP__LISTEN=0.0.0.0:8080 \
    KEEL_PLAYBOOKS_DIR=/etc/keel/playbooks
WORKDIR /var/lib/keel
VOLUME /var/lib/keel
USER 10001:10001
# /healthz, /metrics and the Slack Events API endpoints.
EXPOSE 8080
# On SIGTERM (docker stop) keel stops taking events, commits what it holds and closes the
# database.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/keel"]
CMD ["run"]
