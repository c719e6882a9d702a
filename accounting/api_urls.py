"""Routes of the accounting API, mounted under /api/ by cxplatform/api_urls.py."""

from rest_framework.routers import DefaultRouter

from . import apis

router = DefaultRouter()
router.register("customers", apis.CustomerViewSet, basename="api-customer")
router.register("reason-categories", apis.ReasonCategoryViewSet, basename="api-reason-category")
router.register("revenue", apis.RevenueViewSet, basename="api-revenue")
router.register("costs", apis.CostViewSet, basename="api-cost")
router.register("imports", apis.ImportBatchViewSet, basename="api-import")

urlpatterns = router.urls
