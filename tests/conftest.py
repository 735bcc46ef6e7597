"""Shared fixtures: where the official specs and shared samples are, a fixed company, `--update-golden`."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from daemon.core.records import BankAccount, Company

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/**/expected/ from the current outputs instead of comparing "
        "(review in git)",
    )


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    """Whether golden tests rewrite their expected/ folders (`pytest --update-golden`)."""
    return bool(request.config.getoption("--update-golden"))


def _shared_dir(env: str, name: str) -> Path:
    """$env if set, else ../shared/<name> beside the checkout; fail loudly when missing."""
    path = Path(os.environ[env]) if os.environ.get(env) else ROOT.parent / "shared" / name
    if not path.is_dir():
        pytest.fail(f"{name} not found at {path}: put ../shared/{name} beside the checkout or set ${env}")
    return path


@pytest.fixture(scope="session")
def specs_dir() -> Path:
    """The official schemas (../shared/specs or $BILLDROP_SPECS); never copied into the project."""
    return _shared_dir("BILLDROP_SPECS", "specs")


@pytest.fixture(scope="session")
def shared_samples() -> Path:
    """Realistic exports from ../shared/samples (or $BILLDROP_SAMPLES)."""
    return _shared_dir("BILLDROP_SAMPLES", "samples")


@pytest.fixture(scope="session")
def company() -> Company:
    """The samples' own company, ООО "СеверНет"."""
    return Company(
        name='ООО "СеверНет"',
        full_name='Общество с ограниченной ответственностью "СеверНет"',
        inn="6670000014",
        kpp="667001001",
        address="620014, г. Екатеринбург, ул. Малышева, д. 1",
        bank=BankAccount(
            account="40702810016540012345",
            bik="044525225",
            bank_name="ПАО Сбербанк",
            corr_account="30101810400000000225",
        ),
        director="Иванов И. И.",
        accountant="Петрова А. С.",
        phone="+7 343 000-00-00",
        email="buh@severnet.example.ru",
    )

