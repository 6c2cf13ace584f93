# pooldrift-server image: MCP (Streamable HTTP) at /mcp and Slack at /slack/events.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml constraints.txt README.md LICENSE ./
COPY pooldrift ./pooldrift
COPY server ./server
COPY bot ./bot
RUN pip install -c constraints.txt ".[redis]" ./bot "./server[slack]" && useradd --uid 10001 --no-create-home pooldrift
USER 10001
EXPOSE 8080
ENV POOLDRIFT_HOST=0.0.0.0 POOLDRIFT_PORT=8080
CMD ["pooldrift-server"]
