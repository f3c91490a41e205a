# mediagate: build with `docker build -t mediagate .`, run with
#   docker run --rm -p 3000:3000 -p 40000-40099:40000-40099/udp \
#     -e MEDIAGATE_RTC_PORTS=40000-40099 -e MEDIAGATE_ANNOUNCED_ADDRESS=<host IP> mediagate

FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin mediagate \
    && install -m 0755 target/release/mediagate /usr/local/bin/mediagate

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin mediagate
COPY --from=builder /usr/local/bin/mediagate /usr/local/bin/mediagate

# HTTP on every interface of the container, and media sockets likewise.
ENV MEDIAGATE_LISTEN=0.0.0.0:3000 \
    MEDIAGATE_RTC_IP=0.0.0.0
# MEDIAGATE_ANNOUNCED_ADDRESS must be set at run time to the address clients reach the host at (its IP
# or DNS name): with RTC_IP 0.0.0.0 the server has no address of its own to put in ICE candidates and
# plain transports' tuples. Publish the RTC port range (or a smaller one set with MEDIAGATE_RTC_PORTS)
# as UDP with the same numbers on the host.
EXPOSE 3000 40000-49999/udp

USER mediagate
ENTRYPOINT ["/usr/local/bin/mediagate"]
