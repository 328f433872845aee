"""What the README claims about the service's own files, checked against those files."""

import ast
import itertools
import json
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


def settings_read_from_the_environment() -> dict[str, object]:
    """Each variable booking/settings.py reads (env("X", ...), env.int("X", ...)) and its
    default when that is a plain value (None when there is none, or it is computed)."""
    found: dict[str, object] = {}
    for node in ast.walk(ast.parse((ROOT / "booking" / "settings.py").read_text())):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.args[0]
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            continue
        func = node.func
        called = func.value if isinstance(func, ast.Attribute) else func
        if not (isinstance(called, ast.Name) and called.id == "env"):
            continue
        default = next((k.value for k in node.keywords if k.arg == "default"), None)
        try:
            value = ast.literal_eval(default) if default is not None else None
        except ValueError:
            value = None  # computed (0 if TESTING else 1, 64 * 1024, ...)
        found.setdefault(name.value, value)
    return found


def as_written(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def test_every_setting_read_from_the_environment_is_in_the_configuration_table_with_its_default():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([A-Z_]+)` \| .* \| (.*) \|$", table, re.M)}
    variables = settings_read_from_the_environment()

    assert sorted(set(variables) - set(rows)) == []
    for name, default in variables.items():
        if default in (None, "", []):
            continue  # computed, or "none" in words
        assert f"`{as_written(default)}`" in rows[name], (name, default, rows[name])


def test_every_variable_gunicorn_conf_reads_is_in_the_configuration_table():
    """gunicorn.conf.py's variables sit in the same .env: WEB_CONCURRENCY, the worker class
    and its threads were only in its docstring and "Performance", not in the table."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = set(re.findall(r"^\| `([A-Z_]+)` \|", table, re.M))
    read = set(re.findall(r'(?:environ\.get|_count)\("([A-Z_]+)"', (ROOT / "gunicorn.conf.py").read_text()))

    assert "WEB_CONCURRENCY" in read
    assert sorted(read - rows) == []


def test_the_files_the_readmes_name_exist():
    named = re.compile(
        r"(?<![\w/.])(?:api|booking|deploy|bench|tools|templates)/[\w./-]*\w\.(?:py|md|cfg|tmpl|example|mk)\b"
    )
    missing = []
    for readme in ("README.md", "deploy/README.md", "bench/README.md"):
        for path in sorted(set(named.findall((ROOT / readme).read_text()))):
            if not (ROOT / path).exists():
                missing.append(f"{readme}: {path}")
    assert missing == []


def test_the_readmes_answer_to_a_new_show_has_the_fields_the_service_answers():
    """README's quick start writes out POST /api/shows's answer whole (not elided with
    "..."): a newcomer's client is built from it, so it lists every field, in order."""
    from api.serializers.catalog import ShowSerializer

    after = (ROOT / "README.md").read_text().split('curl -s -X POST "$API/shows"', 1)[1]
    first, *rest = after.split("# -> 201 ", 1)[1].splitlines()
    more = [line.lstrip("#") for line in itertools.takewhile(lambda line: line.startswith("#   "), rest)]

    assert list(json.loads(" ".join([first, *more]))) == ShowSerializer.Meta.fields


def test_every_path_of_the_schema_is_in_the_readmes_api_overview():
    """The README's API overview table names every path the service serves (API.md's
    waiting lists, webhooks and audit trail were missing from it), a last `/{id}` maybe
    written as optional (`/api/venues[/{id}]`); path parameters by any name."""
    import yaml

    def normalised(path: str) -> str:
        return re.sub(r"\{[a-z_]+\}", "{}", path.rstrip("/"))

    readme = (ROOT / "README.md").read_text()
    table = readme.split("## API overview", 1)[1].split("\n### ", 1)[0]
    named = set()
    for path in re.findall(r"(/api/[\w{}/\[\]-]*)", table):
        path = normalised(path)
        named.add(path.replace("[", "").replace("]", ""))
        named.add(re.sub(r"\[/\{\}\]$", "", path))
    served = {normalised(path) for path in yaml.safe_load((ROOT / "schema.yml").read_text())["paths"]}

    assert sorted(served - named) == []
