"""Site-wide pages: home (what the user's scope holds) and the health check."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from linli.lib import scope
from linli.registry.selectors import scope_summary


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_resident:  # type: ignore[union-attr]
        if user.household_id:  # type: ignore[union-attr]
            return redirect("registry:household", pk=user.household_id)  # type: ignore[union-attr]
        return render(request, "home_resident_unlinked.html")
    if getattr(user, "supplier_id", None) and scope.user_level(user) is None:
        return redirect("supplies:index")  # supplier staff have no part of the tree to summarise
    return render(request, "home.html", {"summary": scope_summary(user)})


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database state, for a load balancer or a worried operator."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means the database is not usable
        return JsonResponse({"status": "error", "database": "unavailable", "detail": str(exc)[:200]}, status=503)
    return JsonResponse({"status": "ok", "database": "ok", "vendor": connection.vendor})
