# live-stream-server as a container: built from Debian 12 packages in one
# stage, run as a non-root user on bookworm-slim with only the libraries the
# binary links. scripts/container-test.sh builds and checks it with podman.
#
#   docker build -t live-stream-server .
#   docker run --network=host -e PUBLIC_IP=203.0.113.10 -v lss-data:/var/lib/live-stream-server live-stream-server
#
# Media ports: UDP (and TCP, for ICE-TCP) UDP_PORT .. UDP_PORT+MEDIA_WORKERS-1.
# With port mapping instead of --network=host, fix MEDIA_WORKERS, publish
# that range as both udp and tcp with the same numbers, and set PUBLIC_IP to
# the address clients reach (see compose.yaml).

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libboost-dev libboost-system-dev libssl-dev libsrtp2-dev libusrsctp-dev \
      libavformat-dev libcurl4-openssl-dev libsqlite3-dev libmongoc-dev libpq-dev \
      nlohmann-json3-dev libspdlog-dev libcli11-dev libhiredis-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY src src
COPY bench bench
COPY tools tools
COPY web web
# The server alone (no tests: GoogleTest is not installed here).
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build --target live-stream-server \
 && strip build/live-stream-server
# The Debian packages that hold the libraries it links, for the run stage.
RUN ldd build/live-stream-server | awk '/=> \//{print $3}' \
    | xargs -n1 basename | xargs -I{} dpkg -S '*/{}' | cut -d: -f1 | sort -u > /runtime-packages \
 && cat /runtime-packages

FROM debian:bookworm-slim
COPY --from=build /runtime-packages /tmp/runtime-packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      $(cat /tmp/runtime-packages) ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/live-stream-server --create-home lss
COPY --from=build /src/build/live-stream-server /usr/local/bin/live-stream-server
COPY web /usr/share/live-stream-server/web
ENV WEB_DIR=/usr/share/live-stream-server/web \
    DATA_DIR=/var/lib/live-stream-server \
    PORT=8080 \
    UDP_PORT=40000
VOLUME ["/var/lib/live-stream-server"]
WORKDIR /var/lib/live-stream-server
USER lss
EXPOSE 8080/tcp 40000-40015/udp 40000-40015/tcp
# Plain HTTP on PORT; with TLS_CERT set, use https and -k in your own check.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${PORT}/healthz" >/dev/null || exit 1
# SIGTERM: ends sessions, finishes and spools the clips in progress, exits.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/live-stream-server"]
