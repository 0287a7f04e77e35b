# Production image: slim Python, non-root user, gunicorn. Same image runs web, worker and beat.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN groupadd --system portal && useradd --system --gid portal --home /app portal
COPY pyproject.toml constraints.txt ./
RUN pip install -c constraints.txt . && pip uninstall -y acs-entra-portal || true
COPY --chown=portal:portal . .
# Production's static storage (hashed names + staticfiles.json, which production pages need);
# the settings then want a key and a host: a throwaway key that exists only during this step.
RUN DJANGO_ENV=production DJANGO_ALLOWED_HOSTS=build \
    DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    python manage.py collectstatic --no-input -v 0 \
    && mkdir -p /app/var && chown -R portal:portal /app/var /app/staticfiles
USER portal
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
CMD ["gunicorn", "portal.wsgi:application", "--config", "python:portal.gunicorn_conf", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60"]
