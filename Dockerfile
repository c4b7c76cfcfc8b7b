# One image for web, worker and beat (compose.yaml picks the command).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=portal.settings.production

RUN apt-get update \
    && apt-get install -y --no-install-recommends git graphviz \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 portal

WORKDIR /app
COPY pyproject.toml requirements.lock ./
COPY portal ./portal
COPY provisioning ./provisioning
RUN pip install --no-cache-dir -c requirements.lock .
COPY . .
RUN DJANGO_SECRET_KEY=build-only DATABASE_URL=postgres://build/build REDIS_URL=redis://build:6379/0 \
    PORTAL_ENCRYPTION_KEYS=YnVpbGQtb25seS1rZXktbm90LXVzZWQtYXQtcnVuLXRpbWU= DJANGO_ALLOWED_HOSTS=build \
    python manage.py collectstatic --noinput

USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
