from ._import_command import ImportCommand


class Command(ImportCommand):
    help = "Import customers from a CSV file (SPEC §7). Any bad row rejects the whole file."
    kind = "customers"
