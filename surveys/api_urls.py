"""The surveys API's viewsets, routed under /api/ by cxplatform/api_urls.py: one router for every
app, so that the API's root lists them all."""

from rest_framework.routers import SimpleRouter

from . import apis

router = SimpleRouter()  # a registry: cxplatform/api_urls.py routes it
router.register("surveys", apis.SurveyViewSet, basename="api-survey")
router.register("invitations", apis.InvitationViewSet, basename="api-invitation")
router.register("responses", apis.ResponseViewSet, basename="api-response")
