# The load generator, the sandbox API and the example alert receiver: one image, three commands.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
COPY service ./service
COPY sandbox ./sandbox
COPY locustfiles ./locustfiles
# The regression thresholds, for `compare` without a Prometheus.
COPY prometheus/rules/loadgen_slo.yml ./prometheus/rules/
# Exact, hash-checked versions from the lock, then the project without resolving again.
RUN pip install --require-hashes -r requirements.lock \
    && pip install --no-deps . \
    && useradd --create-home --uid 10001 loadgen \
    && mkdir -p /app/reports \
    && chown loadgen /app/reports
USER loadgen

# `python -m service` runs from /app, where the scenarios are (locustfiles/ beside service/).
EXPOSE 8099 8000 5557
CMD ["python", "-m", "service", "run"]
