"""The project's URLs plus the trivial view bench/answer_load.py compares the answer POST with.

/healthz now checks the broker too, so it is no longer the cheapest view that touches the
database; this one is: the whole middleware stack, one `SELECT 1`, a small JSON body.
"""

from django.db import connection
from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.cache import never_cache


@never_cache
def trivial(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("bench/trivial", trivial),
    path("", include("cxplatform.urls")),
]
