from django.conf import settings


def platform(request):
    return {
        "COMPANY_NAME": settings.COMPANY_NAME,
        "REPORTING_CURRENCY": settings.REPORTING_CURRENCY,
        "CELERY_EAGER": settings.CELERY_TASK_ALWAYS_EAGER,
    }
