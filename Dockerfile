# One image for the Mender worker and starter (and the CLI).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY worker.py ./
COPY workflows ./workflows
COPY contracts ./contracts
COPY activities ./activities
COPY domain ./domain
COPY starter ./starter
COPY simulators ./simulators
COPY store ./store
COPY runtime ./runtime
COPY scenarios ./scenarios
COPY playbooks ./playbooks
RUN pip install . "psycopg[binary]>=3.2" && useradd --create-home mender
USER mender

# MENDER_CONFIG points at the mounted mender.yaml; secrets come from the environment.
ENV MENDER_CONFIG=/etc/mender/mender.yaml
EXPOSE 8000 9464 9465
CMD ["mender", "serve", "--host", "0.0.0.0", "--port", "8000"]
