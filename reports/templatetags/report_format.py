"""Display filters of the report pages."""

from decimal import Decimal

from django import template

from reports.nps_formulas import shown

register = template.Library()


@register.filter
def percent(fraction, places: int = 1) -> str:
    """A rate kept as a fraction, shown in percent and rounded half away from zero: 0.125 → "12.5".

    Django's widthratio rounds to whole numbers, half to even (1 of 8 would read 12 %, beside a
    12.5 % elsewhere on the page, and 0.4 % would read 0 %)."""
    if fraction is None or fraction == "":
        return ""
    return f"{shown(Decimal(str(fraction)) * 100, int(places)):f}"
