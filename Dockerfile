# Fixloop's container image: what k8s/deployment.yaml runs (ghcr.io/fixloop/fixloop).
#   docker build -t ghcr.io/fixloop/fixloop:dev .
# Runtime dependencies only, installed by tools/install-runtime.sh: the same script CI's fresh-venv check
# (tools/check_runtime_install.py) runs on the same files, so what CI proves is what this image holds.
# No HEALTHCHECK: the kubelet probes /healthz and /readyz (k8s/deployment.yaml).

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY tools/install-runtime.sh ./tools/install-runtime.sh
RUN python -m venv /opt/fixloop && sh tools/install-runtime.sh /opt/fixloop/bin/python /src

FROM python:3.11-slim-bookworm
# The uid/gid k8s/deployment.yaml runs as (runAsUser 10001), so files the image creates match.
RUN groupadd --system --gid 10001 fixloop \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin fixloop \
 && install -d -o 10001 -g 10001 /data
COPY --from=build /opt/fixloop /opt/fixloop
ENV PATH=/opt/fixloop/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=8080 \
    DATABASE_URL=sqlite:////data/fixloop.db
WORKDIR /data
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["python", "-m", "app"]
CMD ["serve"]
