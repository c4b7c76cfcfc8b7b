# syntax=docker/dockerfile:1
# One image for web, worker, beat and the migration Job (compose.yaml and deploy/ pick the command).
# The base is pinned by tag and by digest (the multi-architecture index of python:3.11.14-slim-bookworm).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

# --- build: the pinned dependencies in a virtualenv, the static files collected -------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
RUN python -m venv /opt/venv
COPY pyproject.toml requirements.lock ./
# The project's runtime dependencies only (no `local` or `test` extra: no moto, no honcho), every version from
# the lock file.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && /opt/venv/bin/pip install -r /tmp/requirements.txt -c requirements.lock \
    && /opt/venv/bin/pip check
COPY manage.py ./
COPY portal ./portal
COPY provisioning ./provisioning
COPY templates ./templates
COPY static ./static
# Settings need their secrets to import; these placeholders exist only in this build stage.
RUN DJANGO_SETTINGS_MODULE=portal.settings.production DJANGO_STATIC_ROOT=/app/staticfiles \
    DJANGO_SECRET_KEY=build-only DATABASE_URL=postgres://build/build REDIS_URL=redis://build:6379/0 \
    PORTAL_ENCRYPTION_KEYS=YnVpbGQtb25seS1rZXktbm90LXVzZWQtYXQtcnVuLXRpbWU= DJANGO_ALLOWED_HOSTS=build \
    /opt/venv/bin/python manage.py collectstatic --noinput \
    && /opt/venv/bin/python -m compileall -q portal provisioning /opt/venv/lib

# --- runtime: no compiler, no pip cache, a non-root user, nothing writable but /tmp ---------------------------
FROM ${PYTHON_IMAGE}
# git: the gitops target's working tree; graphviz: the resource graph page.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git graphviz \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 portal \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin portal
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    DJANGO_SETTINGS_MODULE=portal.settings.production \
    DJANGO_STATIC_ROOT=/app/staticfiles
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
USER 10001:10001
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
