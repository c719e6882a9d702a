"""Why invitations failed, on the survey page (the reasons come from surveys.failures)."""

from django import template

from surveys import failures

register = template.Library()


@register.filter
def failure_reason(invitation) -> str:
    return failures.invitation_failure_reason(invitation)


@register.simple_tag
def survey_failure_summary(survey) -> failures.FailureSummary:
    return failures.survey_failure_summary(survey)
