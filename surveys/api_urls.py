"""Routes of the surveys API, mounted under /api/ by cxplatform/api_urls.py."""

from rest_framework.routers import DefaultRouter

from . import apis

router = DefaultRouter()
router.register("surveys", apis.SurveyViewSet, basename="api-survey")
router.register("invitations", apis.InvitationViewSet, basename="api-invitation")
router.register("responses", apis.ResponseViewSet, basename="api-response")

urlpatterns = router.urls
