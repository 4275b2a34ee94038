"""Pages of the health module. Each part keeps its own views module and URL list."""

from linli.health import views_control, views_monitoring

app_name = "health"

urlpatterns = [
    *views_monitoring.urlpatterns,
    *views_control.urlpatterns,
]
