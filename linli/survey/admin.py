from django.contrib import admin
from django.http import HttpRequest

from linli.lib.admin import ScopedAdmin
from linli.survey.models import SurveyVisit


@admin.register(SurveyVisit)
class SurveyVisitAdmin(ScopedAdmin):
    """Visits are recorded on the visit page (which also marks the household surveyed); here they are
    reviewed and their notes corrected. The household and the people stay read-only: an unscoped
    choice list of people would show other communities' names."""

    list_display = ["household", "visited_at", "visitor", "anyone_home", "members_confirmed", "fever", "travel_14d"]
    list_filter = ["anyone_home", "members_confirmed", "fever", "travel_14d", "visitors_present"]
    date_hierarchy = "visited_at"
    list_select_related = ["household__building", "household__unit", "visitor"]
    readonly_fields = ["household", "people_home", "visitor", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
