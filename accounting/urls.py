"""Staff web UI of the accounting app (the public reason page is in public_urls.py)."""

from django.urls import path

from . import views

app_name = "accounting"

urlpatterns = [
    path("customers/", views.customer_list, name="customer-list"),
    path("customers/<int:pk>/", views.customer_detail, name="customer-detail"),
    path("customers/<int:pk>/reason/", views.customer_reason, name="customer-reason"),
    path(
        "customers/<int:pk>/reason-request/",
        views.customer_reason_request,
        name="customer-reason-request",
    ),
    path("imports/", views.import_list, name="import-list"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
]
