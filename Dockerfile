# The image of every shipyard process: pipeline steps, the gateway, the API server, the drift monitor.
# Stage 1 builds the wheel; stage 2 installs it (with the S3 extra) on a slim base and runs as a non-root user.
ARG PYTHON_IMAGE=python:3.12.8-slim-bookworm
ARG SHIPYARD_VERSION=0.1.0

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
RUN pip install --no-cache-dir build==1.2.2
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m build --wheel --outdir /dist

FROM ${PYTHON_IMAGE}
ARG SHIPYARD_VERSION
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SHIPYARD_HOME=/var/lib/shipyard
RUN groupadd --system --gid 10001 shipyard \
    && useradd --system --uid 10001 --gid shipyard --home-dir /var/lib/shipyard --create-home shipyard
COPY --from=build /dist/ /tmp/dist/
RUN pip install --no-cache-dir "/tmp/dist/shipyard-${SHIPYARD_VERSION}-py3-none-any.whl[s3]" \
    && rm -rf /tmp/dist
USER 10001:10001
WORKDIR /var/lib/shipyard
EXPOSE 8080 8000
ENTRYPOINT ["shipyard"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
