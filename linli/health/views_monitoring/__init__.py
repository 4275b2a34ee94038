"""Pages of the health module's monitoring side (SPEC H1–H4, H9): key persons and orders, temperatures,
the chase list and the daily summary, fever escalations, and the street's tables.

Who may do what is ``linli.health.permissions`` (403 outside the role sets); which records is
``linli.lib.scope`` (a record outside the account's part of the tree is 404, like a missing one).
Writes go through ``linli.health.services`` and ``linli.health.rules``; a refusal is the service's
Chinese message, put on the form (``apply_errors``) or shown above it.

One module per part: ``people`` (health home, key persons, orders), ``temperatures`` (the resident's
page, reports on someone's behalf, chase list, summary), ``fever`` (escalations), ``street_tables``.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from linli.health.views_monitoring import fever, people, street_tables, temperatures

urlpatterns: list[URLPattern] = [
    path("", people.index, name="index"),
    path("people/", people.key_persons, name="key_persons"),
    path("people/register/", people.register, name="register"),
    path("people/<int:pk>/report/", temperatures.person_report, name="person_report"),
    path("orders/<int:pk>/", people.order_detail, name="order"),
    path("orders/<int:pk>/notice.pdf", people.order_notice, name="order_notice"),
    path("me/", temperatures.me, name="me"),
    path("chase/", temperatures.chase, name="chase"),
    path("summary/", temperatures.summary, name="summary"),
    path("escalations/", fever.escalations, name="escalations"),
    path("escalations/<int:pk>/", fever.escalation_detail, name="escalation"),
    path("tables/", street_tables.tables, name="tables"),
    path("tables/rules/<int:pk>/", street_tables.rule_edit, name="rule_edit"),
    path("tables/risk-areas/", street_tables.risk_areas, name="risk_areas"),
    path("tables/settings/", street_tables.settings_page, name="settings"),
    path("tables/sites/", street_tables.sites, name="sites"),
    path("tables/sites/<int:pk>/", street_tables.site_edit, name="site_edit"),
]
