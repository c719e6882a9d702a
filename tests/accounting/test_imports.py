"""Imports of customers and revenue: every bad input rejects the whole file, nothing is written."""

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounting.imports import import_file, import_records
from accounting.models import CostEntry, Customer, ImportBatch, ImportStatus, RevenueEntry
from accounting.services import customer_set_reason
from tests.factories import CustomerFactory, RevenueEntryFactory, reason

pytestmark = pytest.mark.django_db

CUSTOMER_HEADER = (
    "external_id,name,email,acquired_on,reason,reason_text,referred_by,parent,segment,"
    "acquisition_cost,language"
)
REVENUE_HEADER = "customer,date,amount,external_ref,product"
COST_HEADER = "customer,date,amount,external_ref,kind,description"


def csv_file(*lines: str) -> io.BytesIO:
    return io.BytesIO(("\n".join(lines) + "\n").encode())


def import_revenue(*lines: str) -> ImportBatch:
    return import_file(kind="revenue", file=csv_file(REVENUE_HEADER, *lines), source="command")


def import_customers(*lines: str) -> ImportBatch:
    return import_file(kind="customers", file=csv_file(CUSTOMER_HEADER, *lines), source="command")


def errors(batch: ImportBatch) -> list[tuple[int | None, str, str]]:
    return [(e.row, e.column, e.message) for e in batch.errors.all()]


def email_of_length(length: int) -> str:
    """A well-formed address (64-character local part, labels of at most 63) of `length` characters."""
    local, tld = "a" * 64, ".com"
    labels, room = [], length - len(local) - 1 - len(tld)  # the domain before ".com", dots included
    while room > 63:
        labels.append("b" * 62)
        room -= 63
    labels.append("b" * room)
    address = f"{local}@{'.'.join(labels)}{tld}"
    assert len(address) == length
    return address


@pytest.fixture
def known(db):
    return [CustomerFactory(external_id="A1"), CustomerFactory(external_id="A2")]


class TestRevenueImport:
    def test_it_imports_every_line_with_decimal_amounts(self, known):
        batch = import_revenue("A1,2025-01-31,100.00,R1,Pro", "A2,2025-02-28,-12.5,R2,")

        assert batch.status == ImportStatus.SUCCEEDED
        assert (batch.rows_total, batch.rows_created, batch.rows_skipped) == (2, 2, 0)
        entries = {e.external_ref: e for e in RevenueEntry.objects.all()}
        assert entries["R1"].amount == Decimal("100.00") and entries["R1"].product == "Pro"
        assert entries["R2"].amount == Decimal("-12.50")
        assert entries["R2"].customer == known[1]
        assert entries["R1"].import_batch_id == batch.pk

    def test_it_adds_nothing_when_the_same_file_comes_again(self, known):
        lines = ("A1,2025-01-31,100.00,R1,Pro", "A2,2025-02-28,50.00,R2,")
        import_revenue(*lines)

        again = import_revenue(*lines)

        assert again.status == ImportStatus.SUCCEEDED
        assert again.rows_created == 0 and again.rows_skipped == 2
        assert RevenueEntry.objects.count() == 2

    def test_it_adds_only_the_new_lines_of_an_overlapping_file(self, known):
        import_revenue("A1,2025-01-31,100.00,R1,Pro")

        batch = import_revenue("A1,2025-01-31,100.00,R1,Pro", "A1,2025-02-28,100.00,R3,Pro")

        assert (batch.rows_created, batch.rows_skipped) == (1, 1)
        assert sorted(RevenueEntry.objects.values_list("external_ref", flat=True)) == ["R1", "R3"]

    def test_it_adds_nothing_when_an_api_batch_is_sent_twice(self, known):
        records = [{"customer": "A1", "date": "2025-01-31", "amount": "10.00", "external_ref": "X1", "product": ""}]
        import_records(kind="revenue", records=records)
        again = import_records(kind="revenue", records=records)

        assert again.status == ImportStatus.SUCCEEDED and again.rows_skipped == 1
        assert RevenueEntry.objects.count() == 1

    @pytest.mark.parametrize(
        ("line", "column", "message"),
        [
            ("ZZ,2025-01-31,1.00,R1,", "customer", "unknown customer 'ZZ'"),
            (",2025-01-31,1.00,R1,", "customer", "a customer external id is required"),
            ("A1,31/01/2025,1.00,R1,", "date", "'31/01/2025' is not a date in the form YYYY-MM-DD"),
            ("A1,2025-02-30,1.00,R1,", "date", "'2025-02-30' is not a valid calendar date"),
            ("A1,,1.00,R1,", "date", "a date is required (YYYY-MM-DD)"),
            ("A1,2025-01-31,\"1,00\",R1,", "amount", "'1,00' is not an amount"),
            ("A1,2025-01-31,1.234,R1,", "amount", "'1.234' is not an amount"),
            ("A1,2025-01-31,ten,R1,", "amount", "'ten' is not an amount"),
            ("A1,2025-01-31,9999999999999.00,R1,", "amount", "'9999999999999.00' is too large: at most 12 digits"),
            ("A1,2025-01-31,1.00,,", "external_ref", "a value is required"),
        ],
    )
    def test_it_rejects_a_bad_cell_with_its_row_and_column(self, known, line, column, message):
        batch = import_revenue("A1,2025-01-31,5.00,OK1,", line)

        assert batch.status == ImportStatus.REJECTED
        [(row, col, text)] = errors(batch)
        assert (row, col) == (3, column)
        assert text.startswith(message)
        assert RevenueEntry.objects.count() == 0

    def test_it_lists_every_error_of_the_file_not_just_the_first(self, known):
        batch = import_revenue(
            "ZZ,2025-01-31,1.00,R1,", "A1,2025-13-01,1.00,R2,", "A1,2025-01-31,x,R3,"
        )

        assert [(r, c) for r, c, _ in errors(batch)] == [(2, "customer"), (3, "date"), (4, "amount")]
        assert batch.error_count == 3
        assert batch.message == "3 error(s); nothing was imported."

    def test_rows_are_numbered_as_a_spreadsheet_numbers_them(self, known):
        # A quoted cell with a line break stays one row (as in a spreadsheet), so the bad date
        # below, on the file's fourth line, is reported on row 3.
        batch = import_revenue('A1,2025-01-31,5.00,OK1,"two\nlines"', "A1,2025-02-30,1.00,R1,")

        assert errors(batch) == [(3, "date", "'2025-02-30' is not a valid calendar date")]

    def test_it_rejects_a_reference_twice_in_the_file(self, known):
        batch = import_revenue("A1,2025-01-31,1.00,R1,", "A2,2025-01-31,2.00,R2,", "A2,2025-02-28,3.00,R1,")

        assert batch.status == ImportStatus.REJECTED
        assert errors(batch) == [(4, "external_ref", "'R1' appears twice in the file (first on row 2)")]
        assert RevenueEntry.objects.count() == 0

    def test_it_refuses_a_known_reference_with_other_values(self, known):
        RevenueEntryFactory(customer=known[0], external_ref="R1", amount=Decimal("100.00"))

        batch = import_revenue("A1,2025-01-31,90.00,R1,Plan", "A1,2025-02-28,5.00,R9,")

        assert batch.status == ImportStatus.REJECTED
        [(row, column, message)] = errors(batch)
        assert (row, column) == (2, "external_ref")
        assert "imported before with other values" in message
        assert RevenueEntry.objects.count() == 1

    def test_it_rejects_a_missing_column(self, known):
        batch = import_file(
            kind="revenue", file=csv_file("customer,date,amount,product", "A1,2025-01-31,1.00,"),
            source="ui",
        )

        assert errors(batch) == [(1, "external_ref", "missing column 'external_ref'")]
        assert RevenueEntry.objects.count() == 0

    def test_it_rejects_an_unknown_column(self, known):
        batch = import_file(
            kind="revenue", file=csv_file(REVENUE_HEADER + ",currency", "A1,2025-01-31,1.00,R1,,EUR"),
            source="ui",
        )

        [(row, column, message)] = errors(batch)
        assert (row, column) == (1, "currency")
        assert message.startswith("unknown column 'currency'")

    def test_it_rejects_a_row_with_too_many_cells(self, known):
        batch = import_revenue("A1,2025-01-31,1,000.00,R1,")

        assert errors(batch) == [(2, "", "expected 5 cells, found 6")]

    def test_it_rejects_an_empty_file_and_a_non_utf8_file(self, known):
        empty = import_file(kind="revenue", file=io.BytesIO(b""), source="ui")
        latin = import_file(
            kind="revenue", file=io.BytesIO((REVENUE_HEADER + "\nA1,2025-01-31,1.00,R\xe9f,\n").encode("latin-1")),
            source="ui",
        )

        assert errors(empty) == [(None, "", "the file is empty: expected a header row")]
        assert latin.status == ImportStatus.REJECTED
        assert "not UTF-8" in errors(latin)[0][2]
        assert RevenueEntry.objects.count() == 0

    def test_it_accepts_a_byte_order_mark_and_blank_lines(self, known):
        batch = import_file(
            kind="revenue",
            file=io.BytesIO(("\ufeff" + REVENUE_HEADER + "\n\nA1,2025-01-31,1.00,R1,\n\n").encode()),
            source="ui",
        )

        assert batch.status == ImportStatus.SUCCEEDED and batch.rows_created == 1

    def test_api_records_are_numbered_from_one_and_checked_by_field(self, known):
        batch = import_records(
            kind="revenue",
            records=[
                {"customer": "A1", "date": "2025-01-31", "amount": "1.00", "external_ref": "R1", "product": ""},
                {"customer": "A1", "date": "2025-01-31", "amount": "1.00", "external_ref": "R2", "colour": "red"},
            ],
        )

        expected = "unknown field 'colour'; expected: customer, date, amount, external_ref, product"
        assert errors(batch) == [(2, "colour", expected)]
        assert RevenueEntry.objects.count() == 0


class TestCustomerImport:
    def test_it_creates_customers_with_reasons_referrers_and_parents(self, db):
        batch = import_customers(
            "H1,Household,h@example.com,2024-01-05,recommendation,,,,Consumer,10.00,en",
            "H2,Member,,2024-02-01,advertising,,H1,H1,Consumer,,fr",
            "H3,Child of member,,2024-03-01,other,met at a fair,,H2,,,",
        )

        assert batch.status == ImportStatus.SUCCEEDED
        assert (batch.rows_created, batch.rows_updated) == (3, 0)
        h1, h2, h3 = (Customer.objects.get(external_id=x) for x in ("H1", "H2", "H3"))
        assert h1.reason == reason("recommendation") and h1.acquisition_cost == Decimal("10.00")
        assert h2.referred_by == h1 and h2.parent == h1 and h2.language == "fr"
        assert h3.reason_text == "met at a fair" and h3.reason_kind == "unknown"
        assert {h1.entity_id, h2.entity_id, h3.entity_id} == {h1.pk}

    def test_a_reference_may_point_further_down_the_file(self, db):
        batch = import_customers("K2,Division,,,,,,K1,,,", "K1,Company,,,,,,,,,")

        assert batch.status == ImportStatus.SUCCEEDED
        assert Customer.objects.get(external_id="K2").entity.external_id == "K1"

    def test_it_updates_known_customers_and_keeps_values_of_empty_cells(self, db):
        CustomerFactory(external_id="U1", name="Old", email="keep@example.com", segment="SMB")

        batch = import_customers("U1,New name,,,,,,,Enterprise,,")

        assert (batch.rows_created, batch.rows_updated) == (0, 1)
        customer = Customer.objects.get(external_id="U1")
        assert (customer.name, customer.email, customer.segment) == ("New name", "keep@example.com", "Enterprise")

    def test_reimporting_the_same_customers_changes_nothing(self, db):
        lines = ("S1,One,,2024-01-01,reputation,,,,SMB,,en", "S2,Two,,2024-01-02,promotion,,S1,S1,SMB,,en")
        import_customers(*lines)
        before = list(Customer.objects.order_by("pk").values())

        again = import_customers(*lines)  # byte for byte the same file

        assert again.status == ImportStatus.SUCCEEDED
        assert (again.rows_created, again.rows_updated, again.rows_skipped) == (0, 0, 2)
        assert "Identical" not in again.message
        assert list(Customer.objects.order_by("pk").values()) == before

    def test_reimporting_a_file_restores_values_changed_since_by_another_file(self, db):
        file_a = ("S1,One,one@example.com,2024-01-01,reputation,,,,SMB,,en", "S2,Two,,,,,,,SMB,,")
        import_customers(*file_a)
        import_customers("S1,Renamed,new@example.com,,promotion,,,,Enterprise,,fr", "S2,,,,,,,S1,,,")

        again = import_customers(*file_a)

        assert again.status == ImportStatus.SUCCEEDED
        assert (again.rows_created, again.rows_updated, again.rows_skipped) == (0, 1, 1)
        s1 = Customer.objects.get(external_id="S1")
        assert (s1.name, s1.email, s1.segment, s1.language) == ("One", "one@example.com", "SMB", "en")
        assert (s1.reason, s1.reason_source) == (reason("reputation"), "import")
        # an empty cell keeps the stored value, also on a re-import
        assert Customer.objects.get(external_id="S2").parent == s1
        assert Customer.objects.count() == 2

    def test_reimporting_a_file_restores_values_a_staff_member_changed(self, db):
        lines = ("E1,Original,,,recommendation,,,,SMB,,",)
        import_customers(*lines)
        customer = Customer.objects.get(external_id="E1")
        customer_set_reason(customer=customer, reason=reason("promotion"), source="staff")
        Customer.objects.filter(pk=customer.pk).update(name="Edited by staff")

        again = import_customers(*lines)

        assert (again.status, again.rows_updated) == (ImportStatus.SUCCEEDED, 1)
        customer.refresh_from_db()
        assert (customer.name, customer.reason, customer.reason_source) == (
            "Original", reason("recommendation"), "import",
        )

    def test_a_new_customer_cannot_be_given_an_inactive_reason(self, retired):
        batch = import_customers("OK,Fine,,,recommendation,,,,,,", "NEW,Newcomer,,,advertising,,,,,,")

        assert batch.status == ImportStatus.REJECTED
        assert errors(batch) == [
            (3, "reason", "'advertising' is an inactive reason category; choose an active one."),
        ]
        assert not Customer.objects.exists()

    def test_a_known_customer_cannot_be_moved_to_an_inactive_reason(self, retired):
        CustomerFactory(external_id="K", name="Old", reason=reason("promotion"))

        batch = import_customers("K,New,,,advertising,,,,,,")

        assert batch.status == ImportStatus.REJECTED
        assert [(row, column) for row, column, _ in errors(batch)] == [(2, "reason")]
        customer = Customer.objects.get(external_id="K")
        assert (customer.name, customer.reason) == ("Old", reason("promotion"))

    def test_a_customer_keeps_an_inactive_reason_it_already_has(self, retired):
        CustomerFactory(external_id="K", name="Old", reason=retired, reason_source="import")

        batch = import_customers("K,New,,,advertising,,,,,,", "N,Newcomer,,,recommendation,,,,,,")

        assert batch.status == ImportStatus.SUCCEEDED, errors(batch)
        assert (batch.rows_created, batch.rows_updated) == (1, 1)
        customer = Customer.objects.get(external_id="K")
        assert (customer.name, customer.reason) == ("New", retired)

    def test_an_unknown_reason_lists_only_the_active_categories(self, retired):
        batch = import_customers("B1,Name,,,friends,,,,,,")

        [(_, column, message)] = errors(batch)
        assert column == "reason" and message.startswith("unknown reason 'friends'; use one of ")
        assert "recommendation" in message and "advertising" not in message

    def test_an_email_longer_than_the_model_allows_is_a_row_error(self, db):
        max_length = Customer._meta.get_field("email").max_length
        too_long = email_of_length(max_length + 1)

        batch = import_customers("OK,Fine,,,,,,,,,", f"LONG,Long,{too_long},,,,,,,,")

        assert batch.status == ImportStatus.REJECTED
        assert errors(batch) == [
            (3, "email", f"an email address has at most {max_length} characters (found {max_length + 1})"),
        ]
        assert not Customer.objects.exists()

    def test_an_email_of_the_maximum_length_is_stored(self, db):
        longest = email_of_length(Customer._meta.get_field("email").max_length)

        batch = import_customers(f"LONG,Long,{longest},,,,,,,,")

        assert batch.status == ImportStatus.SUCCEEDED, errors(batch)
        assert Customer.objects.get(external_id="LONG").email == longest

    @pytest.mark.parametrize(
        ("line", "column", "message"),
        [
            (",Name,,,,,,,,,", "external_id", "an external id is required"),
            ("B1,Name,not-an-email,,,,,,,,", "email", "'not-an-email' is not a valid email address"),
            ("B1,Name,,2024-13-01,,,,,,,", "acquired_on", "'2024-13-01' is not a valid calendar date"),
            ("B1,Name,,,friends,,,,,,", "reason", "unknown reason 'friends'"),
            ("B1,Name,,,,,ZZ,,,,", "referred_by", "unknown customer 'ZZ'"),
            ("B1,Name,,,,,,ZZ,,,", "parent", "unknown customer 'ZZ'"),
            ("B1,Name,,,,,,B1,,,", "parent", "a customer cannot be its own parent"),
            ("B1,Name,,,,,,,,-5.00,", "acquisition_cost", "'-5.00' must not be negative"),
            ("B1,Name,,,,,,,,,xx", "language", "'xx' is not a supported language"),
        ],
    )
    def test_it_rejects_a_bad_cell_with_its_row_and_column(self, db, line, column, message):
        batch = import_customers("OK,Fine,,,,,,,,,", line)

        assert batch.status == ImportStatus.REJECTED
        [(row, col, text)] = errors(batch)
        assert (row, col) == (3, column)
        assert text.startswith(message)
        assert not Customer.objects.exists()

    def test_it_rejects_an_external_id_twice_in_the_file(self, db):
        batch = import_customers("D1,One,,,,,,,,,", "D1,Again,,,,,,,,,")

        assert errors(batch) == [(3, "external_id", "'D1' appears twice in the file (first on row 2)")]
        assert not Customer.objects.exists()

    def test_it_rejects_a_parent_cycle_inside_the_file(self, db):
        batch = import_customers("P1,,,,,,,P2,,,", "P2,,,,,,,P3,,,", "P3,,,,,,,P1,,,")

        assert batch.status == ImportStatus.REJECTED
        [(row, column, message)] = errors(batch)
        assert (row, column) == (2, "parent")
        assert message == "parent cycle: P1 → P2 → P3 → P1"
        assert not Customer.objects.exists()

    def test_it_rejects_a_cycle_closed_through_customers_already_imported(self, db):
        top = CustomerFactory(external_id="T1")
        CustomerFactory(external_id="T2", parent=top)

        batch = import_customers("T1,,,,,,,T2,,,")

        assert errors(batch) == [(2, "parent", "parent cycle: T1 → T2 → T1")]
        assert Customer.objects.get(external_id="T1").parent is None

    def test_a_new_parent_turns_a_customer_into_part_of_another_entity(self, db):
        group = CustomerFactory(external_id="G")
        division = CustomerFactory(external_id="D")
        team = CustomerFactory(external_id="T", parent=division)
        assert team.entity == division

        import_customers("D,,,,,,,G,,,")

        team.refresh_from_db()
        division.refresh_from_db()
        assert team.entity == group and division.entity == group


class TestImportCommands:
    def test_the_command_prints_the_outcome(self, known, tmp_path, capsys):
        path = tmp_path / "revenue.csv"
        path.write_text(f"{REVENUE_HEADER}\nA1,2025-01-31,1.00,R1,\n")

        call_command("import_revenue", str(path))

        assert "1 added" in capsys.readouterr().out
        assert RevenueEntry.objects.count() == 1

    def test_the_command_fails_with_every_error_on_stderr(self, known, tmp_path, capsys):
        path = tmp_path / "revenue.csv"
        path.write_text(f"{REVENUE_HEADER}\nZZ,2025-01-31,1.00,R1,\nA1,2025-01-31,oops,R2,\n")

        with pytest.raises(CommandError, match="rejected: 2 error"):
            call_command("import_revenue", str(path))

        err = capsys.readouterr().err
        assert "revenue.csv: row 2, column customer: unknown customer 'ZZ'" in err
        assert "revenue.csv: row 3, column amount: 'oops' is not an amount" in err
        assert RevenueEntry.objects.count() == 0

    def test_the_customers_command_imports_and_a_missing_file_is_an_error(self, tmp_path):
        path = tmp_path / "customers.csv"
        path.write_text(f"{CUSTOMER_HEADER}\nN1,New,,,,,,,,,\n")

        call_command("import_customers", str(path))

        assert Customer.objects.filter(external_id="N1").exists()
        with pytest.raises(CommandError, match="no such file"):
            call_command("import_customers", str(tmp_path / "missing.csv"))

    @pytest.mark.parametrize("command, content, model", [
        ("import_revenue", f"{REVENUE_HEADER}\nA1,2025-01-31,1.00,R1,\n", RevenueEntry),
        ("import_costs", f"{COST_HEADER}\nA1,2025-01-31,5.00,C1,serve,support\n", CostEntry),
    ])
    def test_an_identical_ledger_file_is_recognised_and_adds_nothing(
        self, known, tmp_path, capsys, command, content, model
    ):
        path = tmp_path / "ledger.csv"
        path.write_text(content)
        call_command(command, str(path))

        call_command(command, str(path))

        assert "Identical to import" in capsys.readouterr().out
        assert model.objects.count() == 1

    def test_an_identical_customers_file_is_applied_again(self, tmp_path, capsys):
        path = tmp_path / "customers.csv"
        path.write_text(f"{CUSTOMER_HEADER}\nN1,New,,,,,,,Consumer,,\n")
        call_command("import_customers", str(path))
        Customer.objects.filter(external_id="N1").update(segment="Edited")

        call_command("import_customers", str(path))

        out = capsys.readouterr().out
        assert "Identical to import" not in out and "1 updated" in out
        assert Customer.objects.get(external_id="N1").segment == "Consumer"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks")
def test_the_customers_an_import_updates_are_locked_until_it_commits(known):
    """The import writes every column back from what it read: a reason answered by email meanwhile
    must wait for it rather than be overwritten with the value read before."""
    with CaptureQueriesContext(connection) as queries:
        batch = import_customers("A1,Renamed,,,,,,,,,", "A2,Also renamed,,,,,,,,,")

    assert batch.status == ImportStatus.SUCCEEDED
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "accounting_customer"."id"')]
    assert any("FOR UPDATE" in sql and "'A1'" in sql for sql in reads), reads
