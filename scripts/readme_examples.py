#!/usr/bin/env python3
"""Run every curl example of README.md, in order, against `make run`'s server on a fresh clone.

    python3 scripts/readme_examples.py [--port N] [--venv PATH] [--keep] [--list]

1. Clones this repository's last commit (uncommitted changes are not seen) into a
   temporary folder.
2. Runs `make run` there, as a newcomer would (its own virtualenv, unless --venv lends
   one; SQLite; the demo data; the development .env), on 127.0.0.1:PORT (a free port
   unless given: the examples' 127.0.0.1:8000 is moved there); waits for it.
3. Takes every fenced shell block of the README that has a curl command in it, in order,
   and runs the blocks' lines in one bash session from the clone's folder (variables set by
   one block are there for the next), each command verbatim but for the port. Every curl
   must answer 2xx, or the status that a comment right after the command names:
       curl -s -X POST ... "$API/tickets/$TICKET/check-in"   # 409 already_checked_in
       # -> 201 {"id": ...}                                   (or on the line below)
   A comment's error code (`already_checked_in`) must then be in the answer. A command
   that fails (bash's exit status) fails the run too.
4. Stops the server, removes the clone (--keep keeps it), and exits 0 only when all passed.

Standard library only; needs git, make, bash, curl and python3.
"""

import argparse
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README_ADDRESS = "127.0.0.1:8000"
SHELL_LANGUAGES = {"", "sh", "bash", "shell", "console"}
# A status after a command: "# 409 already_checked_in", "# -> 201 {...}", "# 204: ...".
STATUS = re.compile(r"#\s*(?:->\s*)?([1-5]\d\d)\b[\s:,]*([a-z]+(?:_[a-z]+)+)?")


@dataclass
class Example:
    line: int  # of README.md, where the command starts
    text: str  # the command as written (continuation lines included)
    expect: str | None  # a status code, or None for "any 2xx"
    code: str | None  # an error code the answer must contain


def shell_blocks(readme: str) -> list[tuple[int, list[str]]]:
    """(first line number, lines) of each fenced shell block that has a curl command."""
    blocks, current, start, language = [], None, 0, ""
    for number, line in enumerate(readme.splitlines(), 1):
        fence = re.match(r"^\s*```\s*([\w-]*)", line)
        if fence and current is None:
            current, start, language = [], number + 1, fence.group(1).lower()
        elif fence:
            if language in SHELL_LANGUAGES and any(_runs_curl(x) for x in current):
                blocks.append((start, current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def _runs_curl(text: str) -> bool:
    """Whether a command (or a block line) calls curl, outside its comments."""
    for line in text.splitlines():
        code = "" if line.lstrip().startswith("#") else re.split(r"\s#", line, maxsplit=1)[0]
        if re.search(r"(^|[\s($|;&])curl\s", code):
            return True
    return False


def _complete(text: str) -> bool:
    """Whether bash would take `text` as whole commands (no open quote, no trailing \\)."""
    if text.endswith("\\"):
        return False
    return subprocess.run(["bash", "-n", "-c", text], capture_output=True).returncode == 0


def commands(start: int, lines: list[str]) -> list[Example]:
    found: list[Example] = []
    i = 0
    while i < len(lines):
        if not lines[i].strip() or lines[i].lstrip().startswith("#"):
            i += 1
            continue
        first, text = i, lines[i]
        while not _complete(text) and i + 1 < len(lines):
            i += 1
            text += "\n" + lines[i]
        if not _complete(text):
            raise SystemExit(f"README.md:{start + first}: a command that never ends:\n{text}")
        expect = code = None
        last = text.splitlines()[-1]
        after = lines[i + 1] if i + 1 < len(lines) else ""
        for candidate in (last[last.find(" #") :] if " #" in last else "", after.strip()):
            match = STATUS.match(candidate.lstrip()) if candidate.lstrip().startswith("#") else None
            if match:
                expect, code = match.group(1), match.group(2)
                break
        found.append(Example(start + first, text, expect, code))
        i += 1
    return found


PRELUDE = r"""
set -eo pipefail
__statuses=$(mktemp); __body=$(mktemp)
# Each curl of the examples answers as it would (its body on stdout), and leaves its status
# in $__statuses and its body in $__body for the check after the command.
curl() {
  local out code rc=0
  out=$(mktemp)
  code=$(command curl -o "$out" -w '%{http_code}' "$@") || rc=$?
  echo "${code:-000}" >> "$__statuses"
  cp "$out" "$__body"
  cat "$out"; rm -f "$out"
  return $rc
}
__check() {  # line, expected status ("" for 2xx), expected code
  local seen; seen=$(tr '\n' ' ' < "$__statuses")
  echo
  if [ -z "$seen" ]; then
    echo "README.md:$1: FAILED: the command ran no curl" >&2; exit 1
  fi
  for status in $seen; do
    if [ -n "$2" ]; then wanted=$2; else wanted="2??"; fi
    # shellcheck disable=SC2053  # a pattern, on purpose
    if [[ "$status" != $wanted ]]; then
      echo "README.md:$1: FAILED: answered $status, expected ${2:-2xx}" >&2; exit 1
    fi
  done
  if [ -n "$3" ] && ! grep -q "$3" "$__body"; then
    echo "README.md:$1: FAILED: the answer does not say $3" >&2; exit 1
  fi
  echo "README.md:$1: ok ($seen)" >&2
  : > "$__statuses"
}
"""


def script(examples: list[Example], port: int) -> str:
    parts = [PRELUDE]
    for example in examples:
        text = example.text.replace(README_ADDRESS, f"127.0.0.1:{port}")
        parts.append(f"echo {shlex.quote(f'== README.md:{example.line}: {example.text}')} >&2")
        parts.append(': > "$__statuses"')
        parts.append(text)
        if _runs_curl(example.text):
            expect, code = shlex.quote(example.expect or ""), shlex.quote(example.code or "")
            parts.append(f"__check {example.line} {expect} {code}")
    return "\n".join(parts) + "\n"


def wait_for_server(port: int, server: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"make run exited with {server.returncode} before serving")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"make run did not serve on port {port} within {timeout:.0f} s")


def stop(server: subprocess.Popen) -> None:
    """make, runserver and its reloader's child: the whole process group started above."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            return
        try:
            server.wait(timeout=20)
            return
        except subprocess.TimeoutExpired:
            continue


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, help="where make run serves (default: a free port)")
    parser.add_argument("--venv", type=Path, help="an existing virtualenv to lend the clone (default: make builds one)")
    parser.add_argument("--keep", action="store_true", help="keep the clone, its database and the log")
    parser.add_argument("--list", action="store_true", help="print the examples found and exit")
    args = parser.parse_args()
    if args.port is None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            args.port = sock.getsockname()[1]

    examples = [e for start, lines in shell_blocks((ROOT / "README.md").read_text()) for e in commands(start, lines)]
    if args.list:
        for example in examples:
            print(f"README.md:{example.line} expects {example.expect or '2xx'} {example.code or ''}\n{example.text}\n")
        return 0

    work = Path(tempfile.mkdtemp(prefix="readme-examples-"))
    clone = work / "booking"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    # The clone's own README: the examples as that commit has them.
    examples = [e for start, lines in shell_blocks((clone / "README.md").read_text()) for e in commands(start, lines)]
    if args.venv:
        # Lent only when make would take it as built for these requirements (its stamp,
        # named by their checksum, newer than them): make must never install into it.
        stamp = subprocess.run(["make", "-s", "-p", "-n", "venv"], cwd=clone, capture_output=True, text=True).stdout
        name = re.search(r"^STAMP := \.venv/(\S+)", stamp, re.MULTILINE)
        if not name or not (args.venv / name.group(1)).exists():
            raise SystemExit(f"{args.venv} was not built for these requirements (no {name and name.group(1)})")
        (clone / ".venv").symlink_to(args.venv.resolve())
        for requirements in clone.glob("requirements*.txt"):
            os.utime(requirements, (0, 0))
    # A newcomer's shell: no database, debug or Redis settings of ours, and no make of ours
    # around it (a sub-make would print "Entering directory" into TOKEN=$(make -s ...)).
    dropped = ("DATABASE_URL", "DEBUG", "REDIS_URL", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    # Many examples in a row from one address: the anonymous throttle (60/min) is not what
    # they show, so it is raised for this server.
    env["THROTTLE_ANON_RATE"] = "100000/min"
    log = (work / "make-run.log").open("w")
    print(f"make run in {clone} on 127.0.0.1:{args.port} (log: {work / 'make-run.log'})", flush=True)
    server = subprocess.Popen(
        ["make", "run", f"RUN_ADDR=127.0.0.1:{args.port}"],
        cwd=clone,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # runserver's reloader child goes with it
    )
    try:
        wait_for_server(args.port, server, timeout=900)
        print(f"{len(examples)} commands from README.md", flush=True)
        run = subprocess.run(["bash", "-c", script(examples, args.port)], cwd=clone, env=env)
        if run.returncode == 0:
            print(f"README examples: all {len(examples)} commands passed")
        else:
            print(f"README examples: FAILED (bash exit {run.returncode})", file=sys.stderr)
        return run.returncode
    finally:
        stop(server)
        log.close()
        if args.keep:
            print(f"kept {work}")
        else:
            subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    sys.exit(main())
