"""What the import_* commands say of a path that is no CSV file (SPEC §7: "non-zero with a clear
message on error")."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_import_of_a_directory_names_the_problem(tmp_path):
    # A directory was reported as "no such file", which sends the operator looking for a typo.
    with pytest.raises(CommandError) as error:
        call_command("import_customers", str(tmp_path), stdout=StringIO(), stderr=StringIO())
    assert "no such file" not in str(error.value)
    assert "is a directory" in str(error.value)


def test_import_of_a_missing_file_says_so(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_revenue", str(tmp_path / "missing.csv"), stdout=StringIO(), stderr=StringIO())
