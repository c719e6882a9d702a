"""Placeholder: the import engine lands in the next commit."""


def import_file(**kwargs):
    raise NotImplementedError


def import_records(**kwargs):
    raise NotImplementedError
