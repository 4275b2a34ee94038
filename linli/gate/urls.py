"""Pages of the gate. Each part of the gate keeps its own views module and URL list."""

from linli.gate import views_checkpoint, views_duty, views_passes, views_visitors

app_name = "gate"

urlpatterns = [
    *views_checkpoint.urlpatterns,
    *views_passes.urlpatterns,
    *views_visitors.urlpatterns,
    *views_duty.urlpatterns,
]
