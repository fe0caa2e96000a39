# syntax=docker/dockerfile:1
# One image for every rolecall process: the command picks web (the default), a Celery
# worker, beat or the one-shot migration. See deploy/README.md.
#
#   docker build -t rolecall .
#   docker run --env-file rolecall.env -p 8000:8000 rolecall                    # web
#   docker run --env-file rolecall.env rolecall rolecall db upgrade             # migrate
#   docker run --env-file rolecall.env rolecall \
#       celery -A worker.celery_app worker --queues permissions --loglevel INFO # a worker
ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: a wheel of the package, nothing else --------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
COPY worker ./worker
RUN pip wheel --no-deps --wheel-dir /wheels .

# ---- runtime: the wheel and its runtime dependencies in a venv; no dev extras, no pip --
FROM ${PYTHON_IMAGE} AS runtime
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN groupadd --system --gid 10001 rolecall \
 && useradd --system --uid 10001 --gid rolecall --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin rolecall
# The system pip installs into a venv that has no pip of its own.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv --without-pip /opt/venv \
 && pip --python /opt/venv/bin/python install /wheels/rolecall-*.whl

WORKDIR /app
# gunicorn's config is not part of the package; the Procfile's path must work here too.
COPY deploy/gunicorn.conf.py /app/deploy/gunicorn.conf.py
# prometheus-client's per-process files (gunicorn and Celery run several processes).
# Compose and Kubernetes mount a fresh tmpfs / emptyDir over it.
RUN mkdir -p /tmp/prometheus && chown 10001:10001 /tmp/prometheus

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    ROLECALL_ENV=production \
    PORT=8000

# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
EXPOSE 8000

# Liveness only (/healthz): a container is not restarted because PostgreSQL or Redis is down.
# The slim image has no curl; the standard library does the request.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]

CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py", "service.app:create_app()"]
