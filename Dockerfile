# syntax=docker/dockerfile:1
# Build stage: build the wheel (with the generated client code) using the full toolchain.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY broker_server ./broker_server
COPY broker_client ./broker_client
RUN pip install --no-cache-dir --upgrade pip \
 && pip wheel --no-cache-dir --wheel-dir /wheels '.[postgres]'

# Runtime stage: no build tools, no sources, a non-root user.
FROM python:3.11-slim AS runtime
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin ibbroker
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER ibbroker
WORKDIR /home/ibbroker
# The container's port is published on the host (docker -p), so the broker inside listens on
# every interface of the container without TLS, deliberately (docs/security.md).
ENV IBBROKER_LISTEN=0.0.0.0:50051 \
    IBBROKER_ALLOW_INSECURE_LISTEN=true \
    IBBROKER_STORE=/home/ibbroker/var/ibbroker.sqlite3 \
    IBBROKER_METRICS_LISTEN=0.0.0.0:9464 \
    PYTHONUNBUFFERED=1
# 9464: Prometheus /metrics (telemetry.metrics_listen; off outside the image).
EXPOSE 50051 9464
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
  CMD ["ibbroker", "health"]
ENTRYPOINT ["ibbroker"]
CMD ["serve", "--sim"]
