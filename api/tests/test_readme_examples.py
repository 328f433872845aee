"""scripts/readme_examples.py, the CI step that runs the README's curl examples: what it takes
from a README, and that its checks fail where an example does (against a live server).
The whole run (a fresh clone, `make run`, every example) is `make readme-examples`."""

import importlib.util
import io
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

SCRIPT = Path(settings.BASE_DIR) / "scripts" / "readme_examples.py"
spec = importlib.util.spec_from_file_location("readme_examples", SCRIPT)
assert spec is not None and spec.loader is not None
readme_examples = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readme_examples)

README = """# A service

```sh
make run          # not an example: the block has no curl
```

```sh
API=http://127.0.0.1:8000/api
curl -s "$API/health"
ID=$(curl -s -X POST "$API/tickets" -H 'Content-Type: application/json' \\
  -d '{"name": "Ada",
       "show": 1}' | json '["id"]')
# -> 201 {"id": "..."}
curl -s -X POST "$API/tickets/$ID/check-in"   # 409 already_checked_in, with checked_in_at
# A comment line, then a command with no status named
curl -s "$API/shows"
```

```python
curl = "not shell"
```
"""


def _examples(text: str) -> list:
    return [e for start, lines in readme_examples.shell_blocks(text) for e in readme_examples.commands(start, lines)]


def test_takes_every_command_of_the_shell_blocks_with_curl_with_the_status_they_name():
    found = [(e.line, e.text.splitlines()[0][:20], e.expect, e.code) for e in _examples(README)]
    assert found == [
        (8, "API=http://127.0.0.1", None, None),
        (9, 'curl -s "$API/health', None, None),
        (10, "ID=$(curl -s -X POST", "201", None),
        (14, 'curl -s -X POST "$AP', "409", "already_checked_in"),
        (16, 'curl -s "$API/shows"', None, None),
    ]
    assert _examples(README)[2].text.count("\n") == 2  # the continuation and the open quote


def test_the_real_readme_has_examples_and_no_placeholder_left():
    examples = _examples((Path(settings.BASE_DIR) / "README.md").read_text())
    assert len(examples) >= 30
    for example in examples:
        # What a newcomer can't run: elided ids, made-up tokens, uuidgen (not on Debian).
        for placeholder in ("…", "...", "uuidgen", "TOKEN=..."):
            assert placeholder not in example.text.split("#")[0], (example.line, example.text)


def _run(examples: list, port: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", readme_examples.script(examples, port)], capture_output=True, text=True, timeout=60
    )


@pytest.mark.django_db(transaction=True)
def test_an_example_that_answers_other_than_it_says_fails_the_run(live_server):
    port = live_server.url.rsplit(":", 1)[1]
    ok = _examples('```sh\ncurl -s "http://127.0.0.1:8000/api/health"\n```\n')
    missing = _examples('```sh\ncurl -s "http://127.0.0.1:8000/api/nothing-here"\n```\n')
    said = _examples('```sh\ncurl -s "http://127.0.0.1:8000/api/nothing-here"   # 404\n```\n')
    wrong_code = _examples('```sh\ncurl -s "http://127.0.0.1:8000/api/nothing-here"   # 404 sold_out\n```\n')
    failing_command = _examples("```sh\nX=$(curl -s http://127.0.0.1:8000/api/health | false)\n```\n")

    assert _run(ok, port).returncode == 0
    result = _run(missing, port)
    assert result.returncode == 1
    assert "answered 404, expected 2xx" in result.stderr
    assert _run(said, port).returncode == 0
    assert "does not say sold_out" in _run(wrong_code, port).stderr
    assert _run(failing_command, port).returncode != 0
    assert _run(ok + missing + ok, port).returncode == 1  # one failure anywhere fails it all


@pytest.mark.django_db
def test_staff_token_makes_a_staff_user_once_and_prints_its_key_alone(api_client):
    """`make -s staff-token` (manage.py staff_token boxoffice): TOKEN=$(...) in the README."""
    out, err = io.StringIO(), io.StringIO()
    call_command("staff_token", "boxoffice", stdout=out, stderr=err)
    key = out.getvalue().strip()
    assert "Created the staff user boxoffice." in err.getvalue()
    user = get_user_model().objects.get(username="boxoffice")
    assert user.is_staff and not user.has_usable_password()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/tickets").status_code == 200

    again = io.StringIO()
    call_command("staff_token", "boxoffice", stdout=again, stderr=io.StringIO())
    assert again.getvalue().strip() == key
    replaced = io.StringIO()
    call_command("staff_token", "boxoffice", "--reset", stdout=replaced, stderr=io.StringIO())
    assert replaced.getvalue().strip() not in ("", key)
    assert api_client.get("/api/tickets").status_code == 401
