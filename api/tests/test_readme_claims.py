"""What the README claims about the service's own files, checked against those files."""

import re
import runpy
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def test_the_readme_says_the_address_gunicorn_binds(monkeypatch):
    # gunicorn.conf.py read as gunicorn reads it, without GUNICORN_BIND in the environment.
    monkeypatch.delenv("GUNICORN_BIND", raising=False)
    bind = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["bind"]
    claims = re.findall(r"binds `?([0-9.]+:[0-9]+)", (ROOT / "README.md").read_text())

    assert claims, "README.md no longer says which address gunicorn binds"
    assert set(claims) == {bind}
