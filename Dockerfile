# pooldrift-server image: MCP (Streamable HTTP) at /mcp and Slack at /slack/events.
# Build: docker build --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" -t pooldrift:0.1.0 .
#
# The base is pinned by exact tag and by digest (the multi-platform index): rebuilds get the
# same base until this line is changed, tag and digest together.
FROM python:3.11.15-slim-bookworm@sha256:d29f48a31a8b408ed19272ca1e7b10ebae13b240a27e862d3d4217c528e2e0c3 AS base
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# build: the three distributions into a virtualenv; the sources stay behind in this stage
FROM base AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md LICENSE ./
COPY pooldrift ./pooldrift
COPY server ./server
COPY bot ./bot
RUN python -m venv /opt/pooldrift \
 && /opt/pooldrift/bin/pip install -c constraints.txt ".[redis]" ./bot "./server[slack]" \
 && /opt/pooldrift/bin/python -m compileall -q /opt/pooldrift/lib

# runtime: the virtualenv and an unprivileged user; the root file system can be mounted read-only
# (bytecode is compiled above, so nothing is written at start)
FROM base
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="pooldrift" \
      org.opencontainers.image.description="pooldrift-server: drift of Huawei Cloud Workspace desktop pools over MCP and Slack" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/pooldrift/pooldrift" \
      org.opencontainers.image.url="https://github.com/pooldrift/pooldrift" \
      org.opencontainers.image.documentation="https://github.com/pooldrift/pooldrift#readme" \
      org.opencontainers.image.vendor="pooldrift" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11.15-slim-bookworm" \
      org.opencontainers.image.base.digest="sha256:d29f48a31a8b408ed19272ca1e7b10ebae13b240a27e862d3d4217c528e2e0c3"
RUN groupadd --system --gid 10001 pooldrift \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin pooldrift
COPY --from=build /opt/pooldrift /opt/pooldrift
ENV PATH=/opt/pooldrift/bin:$PATH PYTHONDONTWRITEBYTECODE=1 \
    POOLDRIFT_HOST=0.0.0.0 POOLDRIFT_PORT=8080
USER 10001:10001
EXPOSE 8080
# no HEALTHCHECK: Kubernetes ignores it; the manifests' probes ask /healthz and /readyz
# checkov:skip=CKV_DOCKER_2:Kubernetes probes replace HEALTHCHECK
CMD ["pooldrift-server"]
