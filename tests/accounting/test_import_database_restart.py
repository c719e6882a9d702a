"""An import whose database is restarted under it (simulated: the driver's error raised where a
restart raises it): nothing of the file is kept, and the import says so instead of staying
"running" until the stale-import sweeper, hours later."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError

from accounting.imports import runner
from accounting.models import ImportBatch, ImportStatus, RevenueEntry
from cxplatform import reconnect
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)  # outside a transaction, as a command runs it

RESTART = "terminating connection due to administrator command"


def test_an_import_cut_by_a_database_restart_is_recorded_failed_and_keeps_nothing(tmp_path, monkeypatch):
    CustomerFactory(external_id="A1")
    path = tmp_path / "revenue.csv"
    path.write_text("customer,date,amount,external_ref,product\nA1,2025-01-31,100.00,R1,Pro\nA1,2025-02-28,5,R2,\n")
    load, finish = runner.import_ledger, runner._finish
    first_record = []

    def cut_after_loading(*args, **kwargs):
        load(*args, **kwargs)  # the rows are written, in the import's transaction
        raise OperationalError(f"{RESTART}\nserver closed the connection unexpectedly")

    def restarting(*args, **kwargs):
        if not first_record:  # the database is not back yet at the first try
            first_record.append(True)
            raise OperationalError("connection failed: FATAL:  the database system is starting up")
        return finish(*args, **kwargs)

    monkeypatch.setattr(runner, "import_ledger", cut_after_loading)
    monkeypatch.setattr(runner, "_finish", restarting)
    monkeypatch.setattr(reconnect, "RECONNECT_PAUSES", (0, 0))

    with pytest.raises(CommandError) as error:
        call_command("import_revenue", str(path), stdout=StringIO(), stderr=StringIO())

    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.FAILED and batch.finished_at is not None
    assert batch.message == (
        f"Import failed: the database connection was lost ({RESTART}); nothing was imported. Import the file again."
    )
    assert str(error.value) == f"Import #{batch.pk} failed: {batch.message}"
    assert not RevenueEntry.objects.exists()
