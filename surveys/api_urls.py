"""Routes of the surveys API, mounted under /api/ by cxplatform/api_urls.py."""

urlpatterns = []
