"""Snapshot segments as migrations accounting 0016 and surveys 0022 put the customers' segments:
in NFC on one line (cxplatform.text), or a dashboard asking for the segment as now stored would no
longer find its snapshot (and the nightly run would keep recomputing one for a segment nobody has).

Where two snapshots would then share their parameters, the one updated last is kept.
"""

from django.db import migrations

from cxplatform.text import canonical_text, one_line

KEY = ("kind", "period", "compare", "grain")


def snapshot_segments_canonical(apps, schema_editor):
    ReportSnapshot = apps.get_model("reports", "ReportSnapshot")
    segments = ReportSnapshot.objects.exclude(segment="").values_list("segment", flat=True).distinct()
    for segment in list(segments):
        fixed = canonical_text(one_line(segment)).strip()
        if fixed == segment or not fixed:
            continue
        for snapshot in ReportSnapshot.objects.filter(segment=segment).order_by("-updated_at", "-id"):
            twin = ReportSnapshot.objects.filter(segment=fixed, **{name: getattr(snapshot, name) for name in KEY})
            newer = twin.filter(updated_at__gte=snapshot.updated_at).exists()
            if newer:
                snapshot.delete()
                continue
            twin.delete()
            ReportSnapshot.objects.filter(pk=snapshot.pk).update(segment=fixed)


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0010_nightly_snapshots_compute_nps"),
        ("accounting", "0016_customer_segment_nfc_one_line"),
    ]

    operations = [migrations.RunPython(snapshot_segments_canonical, migrations.RunPython.noop)]
