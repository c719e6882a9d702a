"""Serve the plotly.js bundled in the pip-installed `plotly` package as `vendor/plotly.min.js`.

Charts then need no CDN and no hand-copied third-party file in the repository: the version is
the one `pyproject.toml` pins, and collectstatic copies it like any other static file.
"""

from pathlib import Path

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PREFIX = "vendor"
FILES = ("plotly.min.js",)


def _package_data() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data"


class PlotlyFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(_package_data()))
        self.storage.prefix = PREFIX

    def find(self, path, find_all=False, **kwargs):
        name = path.removeprefix(f"{PREFIX}/")
        if path.startswith(f"{PREFIX}/") and name in FILES and self.storage.exists(name):
            match = self.storage.path(name)
            return [match] if find_all or kwargs.get("all") else match
        return []

    def list(self, ignore_patterns):
        for name in FILES:
            yield name, self.storage

    def check(self, **kwargs):
        return []
