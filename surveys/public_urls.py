"""Public pages, no login: reached from links in survey emails (SPEC §7 paths)."""

urlpatterns = []
