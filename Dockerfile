# The production image: web (gunicorn), worker and beat all run from it (see docker-compose.yml).
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Pango and fonts for WeasyPrint's invoice PDFs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 peakflo
WORKDIR /app

COPY pyproject.toml README.md ./
COPY peakflo/__init__.py peakflo/__init__.py
RUN pip install --upgrade pip && pip install .

COPY . .
RUN pip install --no-deps . \
    && SECRET_KEY=build-only DEBUG=false python manage.py collectstatic --noinput \
    && mkdir -p /app/var/media && chown -R peakflo:peakflo /app/var

USER peakflo
EXPOSE 8000
CMD ["gunicorn", "peakflo.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
