"""The project's own bookkeeping rows, outside the business apps."""

from django.db import models
from django.db.models import Q


class ScheduleTimeZone(models.Model):
    """The zone the project's daily beat schedules were last aligned to: one row (pk 1).

    cxplatform.schedules moves the schedules still on this zone when TIME_ZONE changes, and leaves
    the ones an admin put on another zone alone.
    """

    SINGLE = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLE)
    time_zone = models.CharField(max_length=63)  # an IANA name, as TIME_ZONE holds it
    aligned_at = models.DateTimeField(auto_now=True)

    class Meta:
        default_permissions = ()  # written by `migrate` only, never by a user
        constraints = [models.CheckConstraint(condition=Q(id=1), name="schedule_time_zone_single_row")]

    def __str__(self):
        return self.time_zone
