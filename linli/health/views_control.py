"""Pages of the health module (placeholder until written)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
