"""The shared sample exports read, planned and rendered: 1C's catalogue per service, legal requisites."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import xmlschema
from lxml import etree

from daemon.config import builtin_dir
from daemon.core.documents import DocumentKind, DocumentPlan, IssueRules
from daemon.core.money import NO_VAT
from daemon.core.rows import Checked
from daemon.core.schema import SourceSchema, parse_schema
from daemon.core.sources.charges import Ledger, check, plan_charge_documents
from daemon.render.enterprisedata import render_message
from daemon.render.fns import render_fns
from tests.edschema import validate_message
from tests.workspaces import pdf_text

NOW = datetime(2026, 12, 1, 10, 0)
ISSUED_ON = NOW.date()
SALES = (DocumentKind.INVOICE, DocumentKind.ACT)
WITH_TAX_INVOICE = (*SALES, DocumentKind.TAX_INVOICE)
ADDRESS = "620000, г. Екатеринбург, ул. Мира, д. 1"


@pytest.fixture(scope="module")
def schema() -> SourceSchema:
    text = (builtin_dir("inbox_schemas") / "charges.toml").read_text(encoding="utf-8")
    return parse_schema(text, "charges")


def rules(kinds=SALES) -> IssueRules:
    return IssueRules(kinds, dict.fromkeys(kinds, "{period:%y%m}-{seq:05}"), NO_VAT, True, 10)


def plan(path: Path, schema: SourceSchema, issue_rules: IssueRules, data: bytes | None = None):
    checked = check(path.read_bytes() if data is None else data, path.name, schema)
    assert isinstance(checked, Checked) and checked.errors == (), checked
    return plan_charge_documents(checked.records, Ledger({}, {}, {}), issue_rules, ISSUED_ON)


def services(plan_: DocumentPlan, company) -> dict[str, str]:
    """Номенклатура of the plan's 1C message: name → Ссылка (one item per name, or the test fails)."""
    xml = render_message(plan_.documents, company, now=NOW)
    ns = {"ed": "http://v8.1c.ru/edi/edi_stnd/EnterpriseData/1.20"}
    items = etree.fromstring(xml).iterfind("ed:Body/ed:Справочник.Номенклатура/ed:КлючевыеСвойства", ns)
    pairs = [(item.findtext("ed:Наименование", namespaces=ns), item.findtext("ed:Ссылка", namespaces=ns))
             for item in items]
    assert len(pairs) == len(dict(pairs)), pairs
    return dict(pairs)


def test_one_nomenclature_item_per_service_with_the_same_uuid_every_month(
    shared_samples, schema, company, specs_dir
):
    """November's 61 connections are 6 services in 1C; October's register gives them the same UUIDs."""
    november = plan(shared_samples / "charges" / "isp_charges_2026-11.csv", schema, rules())
    october = plan(shared_samples / "charges" / "isp_charges_2026-10.xlsx", schema, rules())
    assert isinstance(november, DocumentPlan) and isinstance(october, DocumentPlan)
    names = {line.service_name for doc in november.documents for line in doc.lines}
    nov_services, oct_services = services(november, company), services(october, company)
    assert set(nov_services) == names and len(names) == 6
    shared = nov_services.keys() & oct_services.keys()
    assert shared and all(nov_services[name] == oct_services[name] for name in shared)
    assert validate_message(render_message(november.documents, company, now=NOW), "1.20", specs_dir) == []


def with_vat(sample: Path, address: str | None) -> bytes:
    """The sample's rows at 22 % instead of «Без НДС», with a «Юридический адрес» column when `address`."""
    rows = sample.read_text(encoding="cp1251").splitlines()
    header = next(i for i, row in enumerate(rows) if row.startswith("Договор;"))
    for i in range(header, len(rows)):
        if rows[i].startswith("Д-"):
            rows[i] = rows[i].removesuffix(";Без НДС") + ";22%"
        if address is not None and (i == header or rows[i].startswith("Д-")):
            rows[i] += ";Юридический адрес" if i == header else f";{address}"
    return "\r\n".join(rows).encode("cp1251")


def test_tax_invoice_needs_the_buyer_address_and_then_carries_it(
    shared_samples, schema, company, renderer, specs_dir, tmp_path
):
    """At 22 % with a счёт-фактура, the November sample (no legal addresses) is refused contract by contract;
    with a «Юридический адрес» column the счёт-фактура's PDF and its ФНС XML (valid against the XSD) name
    the buyer's address."""
    sample = shared_samples / "charges" / "isp_charges_2026-11.csv"
    refused = plan(sample, schema, rules(WITH_TAX_INVOICE), with_vat(sample, None))
    assert isinstance(refused, tuple) and {e.column for e in refused} == {"Юридический адрес"}
    contracts = {row.split(";")[0] for row in with_vat(sample, None).decode("cp1251").splitlines()
                 if row.startswith("Д-")}
    assert len(refused) == len(contracts) > 1

    accepted = plan(sample, schema, rules(WITH_TAX_INVOICE), with_vat(sample, ADDRESS))
    assert isinstance(accepted, DocumentPlan)
    tax_invoice = next(d for d in accepted.documents if d.kind is DocumentKind.TAX_INVOICE)
    assert tax_invoice.date == date(2026, 11, 30) and tax_invoice.counterparty.address == ADDRESS

    pdf = tmp_path / "sf.pdf"
    pdf.write_bytes(renderer.render(tax_invoice, company))
    assert f"Адрес {ADDRESS} (6а)" in pdf_text(pdf)
    fns = etree.fromstring(render_fns(tax_invoice, company, now=NOW).content)
    xmlschema.XMLSchema(specs_dir / "fns" / "ON_NSCHFDOPPR_1_997_01_05_03_05.xsd").validate(fns)
    assert fns.find("Документ/СвСчФакт/СвПокуп/Адрес/АдрИнф").get("АдрТекст") == ADDRESS
