# meetbot in a container: a wheel built in one stage, installed into a venv in a slim runtime.
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY commands ./commands
COPY providers ./providers
RUN python -m venv /opt/meetbot && /opt/meetbot/bin/pip install --no-cache-dir .

FROM python:3.12-slim
COPY --from=build /opt/meetbot /opt/meetbot
ENV PATH=/opt/meetbot/bin:$PATH PYTHONUNBUFFERED=1
RUN useradd --system --create-home --home-dir /data meetbot
USER meetbot
WORKDIR /data
VOLUME ["/data"]
# Mount your config at /etc/meetbot/config.yaml; secrets can come from the environment (${NAME}).
# Socket Mode needs no open port; for Slack HTTP mode publish slack.port (3000 by default).
EXPOSE 3000
ENTRYPOINT ["meetbot"]
CMD ["run", "--config", "/etc/meetbot/config.yaml"]
