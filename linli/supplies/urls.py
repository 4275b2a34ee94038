"""Pages of the supplies module. Each part keeps its own views module and URL list."""

from linli.supplies import views_catalogue, views_delivery, views_money, views_orders, views_packing, views_stock

app_name = "supplies"

urlpatterns = [
    *views_catalogue.urlpatterns,
    *views_stock.urlpatterns,
    *views_orders.urlpatterns,
    *views_packing.urlpatterns,
    *views_delivery.urlpatterns,
    *views_money.urlpatterns,
]
