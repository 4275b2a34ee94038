"""Supplies pages: orders (see docs/supplies.md)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
