"""GET /healthz: is the database, the broker and the beat heartbeat alive? For load balancers and ops."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery import app as celery_app
from .models import Heartbeat


def check_database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # any failure means down; say which kind
        return {"ok": False, "error": type(exc).__name__}


def check_broker():
    # Read the URL at call time so the check follows the settings in force.
    conn = celery_app.connection_for_write(url=settings.CELERY_BROKER_URL, connect_timeout=2)
    try:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=3)
        return {"ok": True, "transport": conn.transport_cls}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    finally:
        conn.release()


def check_heartbeat(database_ok):
    if not database_ok:
        return {"ok": False, "error": "database unavailable"}
    beat = Heartbeat.objects.filter(name="beat").first()
    if beat is None:
        return {"ok": False, "error": "no heartbeat yet: are the worker and beat running?"}
    age = (timezone.now() - beat.beat_at).total_seconds()
    return {
        "ok": age <= settings.HEARTBEAT_MAX_AGE_SECONDS,
        "last": beat.beat_at.isoformat(),
        "age_seconds": round(age),
        "max_age_seconds": settings.HEARTBEAT_MAX_AGE_SECONDS,
    }


@never_cache
@require_GET
def healthz(request):
    database = check_database()
    checks = {"database": database, "broker": check_broker(), "heartbeat": check_heartbeat(database["ok"])}
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse({"status": "ok" if healthy else "down", **checks}, status=200 if healthy else 503)
