"""The accounting API's viewsets, routed under /api/ by cxplatform/api_urls.py: one router for every
app, so that the API's root lists them all."""

from rest_framework.routers import SimpleRouter

from . import apis

router = SimpleRouter()  # a registry: cxplatform/api_urls.py routes it
router.register("customers", apis.CustomerViewSet, basename="api-customer")
router.register("reason-categories", apis.ReasonCategoryViewSet, basename="api-reason-category")
router.register("revenue", apis.RevenueViewSet, basename="api-revenue")
router.register("costs", apis.CostViewSet, basename="api-cost")
router.register("imports", apis.ImportBatchViewSet, basename="api-import")
