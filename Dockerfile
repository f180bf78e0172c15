# syntax=docker/dockerfile:1
# meetbot in a container: the build stage makes wheels (meetbot's and its dependencies'), the
# runtime stage installs them from there, offline, into a venv; it has no compiler and keeps no
# wheel. Build: docker build -t meetbot .   Check a config: docker run --rm --env-file ENV meetbot check
ARG PYTHON_VERSION=3.12

FROM python:${PYTHON_VERSION}-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY adapters ./adapters
COPY commands ./commands
COPY providers ./providers
RUN python -m pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

FROM python:${PYTHON_VERSION}-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="meetbot" \
      org.opencontainers.image.description="Run BigBlueButton, VConnct and LiveMinutes meetings from Slack and Discord with /meet" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.vendor="the meetbot authors"
# The wheels are mounted for this one step only, so no layer keeps them.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv /opt/meetbot \
    && /opt/meetbot/bin/pip install --no-cache-dir --no-index --find-links=/wheels 'meetbot[postgres]' \
    && install -d -o 10001 -g 10001 /data
ENV PATH=/opt/meetbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/data
# A numeric user: no name to resolve, and never root whatever the host's /etc/passwd says.
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
# The config comes from the environment (MEETBOT_SLACK__BOT_TOKEN ...), from files in
# /run/secrets named like those variables, or from a mounted file named by MEETBOT_CONFIG
# (e.g. -v ./config.yaml:/etc/meetbot/config.yaml:ro -e MEETBOT_CONFIG=/etc/meetbot/config.yaml);
# the environment wins over the file. SQLite keeps its file in /data (storage.url
# sqlite:///meetbot.db is relative to it). Socket Mode needs no open port; publish server.port
# (callbacks, /healthz) and, for Slack HTTP mode without the server, slack.port (3000).
EXPOSE 3000 8080
# With server.port it asks the bot's own /healthz; without a server, whether the store opens.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["meetbot", "healthcheck"]
ENTRYPOINT ["meetbot"]
CMD ["run"]
