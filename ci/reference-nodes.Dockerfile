# tlsmatrix's reference nodes as an image, for the containers backend
# (`tlsmatrix run --backend containers`, harness/tests/containers.rs).
#
# The build context is one file, the `tlsmatrix` binary built on the host
# (harness/src/containers.rs sends it; by hand:
#   cp target/release/tlsmatrix ctx/ && docker build -f ci/reference-nodes.Dockerfile ctx/
# ). Debian 12 matches the glibc of the machines the binary is built on here
# and of ubuntu-22.04 runners; build on an older or equal glibc.
#
# Nodes read their configuration exactly as on the host: a Zeebe YAML file and
# ZEEBE_* environment variables, paths relative to /case, where the case
# directory (certificates, keys) is mounted read-only.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY tlsmatrix /usr/local/bin/tlsmatrix
WORKDIR /case
EXPOSE 26500
ENTRYPOINT ["/usr/local/bin/tlsmatrix"]
CMD ["up", "gateway.yaml", "--workdir", "/case"]
