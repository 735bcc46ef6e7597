"""Identifier checksums against known-good and broken values."""
import pytest

from daemon.core.ids import account_error, bik_error, corr_account_error, inn_error, kpp_error, ogrn_error


@pytest.mark.parametrize("inn", ["7707083893", "500100732259", "0274853498", "661909802738"])
def test_valid_inns(inn):
    """Organisations' and individuals' ИНН with correct check digits pass."""
    assert inn_error(inn) is None


@pytest.mark.parametrize("inn", ["7707083894", "500100732258", "12345", "77070838930", "77O7083893"])
def test_invalid_inns(inn):
    """A wrong check digit, length or a letter is refused with a reason."""
    assert inn_error(inn).startswith("ИНН")


def test_kpp_allows_letters_in_reason_code():
    """КПП's reason code may hold Latin capitals."""
    assert kpp_error("7701AB001") is None and kpp_error("77010100") is not None


def test_account_key_against_bik():
    """The settlement account's control key uses the БИК's last three digits."""
    assert account_error("40702810200000012345", "044525225") is None
    assert account_error("40702810200000012346", "044525225") is not None


def test_corr_account_key_against_bik():
    """The correspondent account's key uses "0" + БИК digits 5–6."""
    assert corr_account_error("30101810400000000225", "044525225") is None
    assert corr_account_error("30101810400000000226", "044525225") is not None


def test_bik_and_ogrn():
    """БИК must start with 04/01; ОГРНИП with a remainder of 10 takes its last digit (0)."""
    assert bik_error("044525225") is None and bik_error("994525225") is not None
    assert ogrn_error("1027700132195") is None and ogrn_error("304500116000180") is None
    assert ogrn_error("1027700132196") is not None
