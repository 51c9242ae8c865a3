# binance-margin-mcp: MCP over stdio by default. No credentials are baked in: mount TOOLS.md (and PEM keys,
# the HTTP token) from the host at run time (see README, "Docker").
FROM python:3.12.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY server/binance_margin_mcp ./server/binance_margin_mcp
RUN pip install . && rm -rf /src

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin mcp \
    && mkdir -p /config && chown mcp:mcp /config
USER mcp
WORKDIR /home/mcp

# HTTP transport only (--transport http --host 0.0.0.0 --allow-remote); MCP is served at /mcp.
EXPOSE 8000
ENTRYPOINT ["binance-margin-mcp"]
