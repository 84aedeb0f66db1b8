# syntax=docker/dockerfile:1
# One image for every service and command, each run by its own name:
#   docker run --rm pos-platform orders serve
#   docker run --rm pos-platform registers platform-admin-token --subject ops@example.com
#   docker run --rm pos-platform python -m odoo_emulator --host 0.0.0.0
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ghcr.io/astral-sh/uv:0.13.8 AS uv

FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# The locked third-party dependencies first, in a layer of their own that only a change of
# uv.lock or of a pyproject.toml rebuilds. The root project's dependencies are what the image
# runs; --all-packages would add the test kits (tests/support) and pytest with them. The test
# kits' pyproject.toml comes along only because uv reads every workspace member's.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY services/orders/pyproject.toml services/orders/
COPY services/registers/pyproject.toml services/registers/
COPY services/reporting/pyproject.toml services/reporting/
COPY services/odoo-connector/pyproject.toml services/odoo-connector/
COPY tests/odoo_emulator/pyproject.toml tests/odoo_emulator/
COPY tests/support/pyproject.toml tests/support/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace
# Then our own packages, installed as wheels (not editable): the final stage needs no source.
COPY shared/src shared/src
COPY services/orders/src services/orders/src
COPY services/registers/src services/registers/src
COPY services/reporting/src services/reporting/src
COPY services/odoo-connector/src services/odoo-connector/src
COPY tests/odoo_emulator/src tests/odoo_emulator/src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 pos \
    && useradd --system --uid 10001 --gid pos --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin pos
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
# The compose jobs: migrations, broker topology and the first platform token; the demo tenants.
COPY deploy/__init__.py deploy/broker_definitions.py deploy/demo.py deploy/migrate.py deploy/
COPY deploy/rabbitmq/definitions.json deploy/rabbitmq/
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ORDERS_HTTP_HOST=0.0.0.0 \
    REGISTERS_HTTP_HOST=0.0.0.0 \
    REPORTING_HTTP_HOST=0.0.0.0 \
    CONNECTOR_HTTP_HOST=0.0.0.0
USER 10001:10001
EXPOSE 8001 8002 8003 8004 8069
CMD ["orders", "serve"]
