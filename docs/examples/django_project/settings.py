"""Settings and URLs of the example project (one module, as the project is tiny)."""

from __future__ import annotations

import os

from django.http import HttpRequest, JsonResponse
from django.urls import path

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = __name__
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True


def home(request: HttpRequest) -> JsonResponse:
    """The Django app's own page."""
    return JsonResponse({"app": "django", "index": "/packages/simple/"})


urlpatterns = [path("", home)]
