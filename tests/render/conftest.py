"""Render fixtures: one PDF renderer per test session, as a worker process keeps one."""
from __future__ import annotations

import pytest

from daemon.config import builtin_dir
from daemon.render.pdf import PdfRenderer


@pytest.fixture(scope="session")
def renderer() -> PdfRenderer:
    return PdfRenderer(builtin_dir("templates") / "pdf")
