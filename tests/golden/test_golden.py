"""Golden files: each case's inputs through `billdrop process` in a new workspace, outputs against expected/.

A case is a folder `tests/golden/<source>/<case>/` holding the input file(s) for inbox/<source>, or an
ordered `inputs/NN_<source>/` list (payouts before their acceptances, charges before the statement
that pays them); each input is dropped and processed by its own run, in that order, at a fixed time.
`expected/` holds one text file per output, named after its workspace path (PDFs and mails get
`.txt`), plus `files.txt` (every file the workspace ends with: outputs, archive/, quarantine/),
`status.json` (`billdrop status --json` on that day) and `status.txt` (the table people read).
`pytest --update-golden` rewrites expected/ instead of comparing; review the change in git.
"""
from __future__ import annotations

import difflib
import json
import shutil
from datetime import datetime
from email import policy
from email.parser import BytesParser
from io import BytesIO
from pathlib import Path

import pytest
from lxml import etree
from pypdf import PdfReader

from daemon.config import load_settings
from daemon.service import run_once
from daemon.status import collect_status, format_status
from daemon.store import Store
from daemon.workspace import Workspace
from tests.workspaces import make_workspace

pytestmark = pytest.mark.slow   # each case is a whole `billdrop process` run, PDF workers included

GOLDEN = Path(__file__).resolve().parent
CLOCK = datetime(2026, 12, 1, 10, 0, 0)   # the morning after the month closed: every run sees this time
NOT_OUTPUTS = ("billdrop.toml", "state.sqlite", "state.sqlite-wal", "state.sqlite-shm")


def _cases() -> list[Path]:
    return sorted(case for case in GOLDEN.glob("*/*") if case.is_dir())


def _inputs(case: Path) -> list[tuple[str, Path]]:
    """(source, file) in processing order: `inputs/NN_<source>/*`, or the case's own files for its source."""
    if (case / "inputs").is_dir():
        steps = sorted(p for p in (case / "inputs").iterdir() if p.is_dir())
        return [(step.name.partition("_")[2], f) for step in steps for f in sorted(step.iterdir())
                if f.is_file()]
    return [(case.parent.name, f) for f in sorted(case.iterdir()) if f.is_file()]


def _canonical_xml(data: bytes) -> str:
    """C14N (attribute order, namespaces, quoting fixed), indented so a diff shows the changed element.

    The bytes are parsed with the encoding their declaration names (windows-1251 for ФНС files), which
    the first line records, since C14N itself is always UTF-8 without a declaration."""
    tree = etree.ElementTree(etree.fromstring(data))
    canonical = etree.tostring(tree, method="c14n")
    pretty = etree.tostring(
        etree.fromstring(canonical, etree.XMLParser(remove_blank_text=True)),
        pretty_print=True, encoding="unicode",
    )
    return f"<!-- encoding: {tree.docinfo.encoding} -->\n{pretty}"


def _pdf_text(data: bytes) -> str:
    """pypdf's text of each page, line by line, whitespace folded (as `pdf_text` in tests/workspaces.py)."""
    out = []
    for number, page in enumerate(PdfReader(BytesIO(data)).pages, start=1):
        out.append(f"=== page {number} ===")
        for line in (page.extract_text() or "").splitlines():
            folded = " ".join(line.replace("\u00a0", " ").split())
            if folded:
                out.append(folded)
    return "\n".join(out) + "\n"


def _mail_text(data: bytes) -> str:
    """Envelope headers, the text body (CRLF as on the wire, LF here) and the attachments' names.

    Date is left out: the transport stamps the wall clock, not the run's clock."""
    message = BytesParser(policy=policy.default).parsebytes(data)
    lines = [f"{name}: {message[name]}" for name in ("From", "To", "Cc", "Subject")
             if message[name] is not None]
    body = message.get_body(preferencelist=("plain",))
    lines += ["", *(body.get_content().splitlines() if body is not None else ["(no text body)"]), ""]
    lines += [f"attachment: {part.get_filename()} ({part.get_content_type()})"
              for part in message.iter_attachments()]
    return "\n".join(lines) + "\n"


def _bank_text(data: bytes) -> str:
    """The 1CClientBankExchange upload as the bank reads it: cp1251 (CRLF folded to LF here)."""
    return "\n".join(data.decode("cp1251").splitlines()) + "\n"


def _rendered(rel: str, data: bytes) -> tuple[str, str] | None:
    """(name under expected/, text) for an output compared by content; None for one only listed."""
    if rel.startswith(("outbox/1c/", "outbox/edo/")) and rel.endswith(".xml"):
        return rel, _canonical_xml(data)
    if rel.startswith("outbox/bank/"):
        return rel, _bank_text(data)
    if rel.startswith(("documents/", "outbox/platform/")) and rel.endswith(".pdf"):
        return rel + ".txt", _pdf_text(data)
    if rel.startswith("mail/") and rel.endswith(".eml"):
        return rel + ".txt", _mail_text(data)
    if rel.startswith("quarantine/") and rel.endswith(".errors.json"):
        return rel, data.decode("utf-8").rstrip("\n") + "\n"
    return None


def _run_case(case: Path, root: Path) -> dict[str, str]:
    """Every input through run_once at CLOCK; the outputs as {name under expected/: text}."""
    ws = make_workspace(root)
    settings = load_settings(ws.root)
    for source, path in _inputs(case):
        shutil.copy(path, ws.inbox(source) / path.name)
        run_once(ws, settings, clock=lambda: CLOCK)
    return _outputs(ws)


def _outputs(ws: Workspace) -> dict[str, str]:
    files = sorted(p.relative_to(ws.root).as_posix() for p in ws.root.rglob("*") if p.is_file())
    files = [rel for rel in files if rel not in NOT_OUTPUTS]
    outputs = {"files.txt": "".join(f"{rel}\n" for rel in files)}
    for rel in files:
        rendered = _rendered(rel, (ws.root / rel).read_bytes())
        if rendered is not None:
            outputs[rendered[0]] = rendered[1]
    store = Store(ws.state_path)
    try:
        status = collect_status(ws, store, CLOCK.date())
    finally:
        store.close()
    outputs["status.json"] = json.dumps(status, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    outputs["status.txt"] = format_status(status) + "\n"
    return outputs


def _expected(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _write_expected(folder: Path, outputs: dict[str, str]) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    for name, text in outputs.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")


def _mismatches(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    problems = [f"missing output: {name} (in expected/, not produced)"
                for name in sorted(expected.keys() - actual)]
    problems += [f"unexpected output: {name} (produced, not in expected/)"
                 for name in sorted(actual.keys() - expected)]
    for name in sorted(expected.keys() & actual):
        if expected[name] != actual[name]:
            diff = difflib.unified_diff(
                expected[name].splitlines(keepends=True), actual[name].splitlines(keepends=True),
                fromfile=f"expected/{name}", tofile=f"actual/{name}",
            )
            problems.append("".join(diff))
    return problems


@pytest.mark.parametrize("case", _cases(), ids=lambda case: case.relative_to(GOLDEN).as_posix())
def test_golden(case: Path, tmp_path: Path, update_golden: bool) -> None:
    """The case's outputs equal expected/ (`pytest --update-golden` rewrites it)."""
    actual = _run_case(case, tmp_path / "ws")
    if update_golden:
        _write_expected(case / "expected", actual)
        return
    expected = _expected(case / "expected")
    if not expected:
        pytest.fail(f"{case.relative_to(GOLDEN)} has no expected/: run `pytest tests/golden --update-golden`")
    problems = _mismatches(expected, actual)
    if problems:
        heading = f"{len(problems)} golden mismatch(es) in {case.relative_to(GOLDEN)}:"
        pytest.fail("\n".join([heading, *problems]), pytrace=False)
