"""EnterpriseData УдалениеОбъекта for an annulled document: valid, and naming the Ссылка it was sent with."""

from __future__ import annotations

from datetime import date

import pytest

from daemon.core.documents import DocumentKind
from daemon.render.enterprisedata import DOCUMENT_TYPES, render_deletion, render_message
from tests.edschema import validate_message
from tests.render.test_enterprisedata import MODERN, NOW, VAT22, own_refs, parse, sample_documents

DELETED_PATH = "ed:Body/ed:УдалениеОбъекта/ed:СсылкаНаОбъект/ed:СсылкаНаОбъект/ed:{type}Ссылка"


@pytest.mark.parametrize("version", [*MODERN, "1.11"])
@pytest.mark.parametrize("kind", list(DocumentKind))
def test_deletion_validates(kind, version, company, specs_dir):
    """The deletion of every kind billdrop sends is valid under both validators, in every version."""
    xml = render_deletion(kind, "2611-00001", date(2026, 11, 30), company, version=version, now=NOW)
    assert validate_message(xml, version, specs_dir) == []


@pytest.mark.parametrize("kind", [DocumentKind.INVOICE, DocumentKind.ACT, DocumentKind.AGENT_ACT])
def test_deletion_names_the_sent_document(kind, company):
    """The deleted Ссылка is the one the document's own message gave it, so 1C marks that very document."""
    doc = next(d for d in sample_documents(VAT22) if d.kind is kind)
    sent, ns = parse(render_message([doc], company, now=NOW))
    deletion, _ = parse(render_deletion(doc.kind, doc.number, doc.date, company, now=NOW))
    (ref,) = [e.text for e in deletion.iterfind(DELETED_PATH.format(type=DOCUMENT_TYPES[kind]), ns)]
    assert own_refs(sent, ns)[ref].findtext("ed:Номер", namespaces=ns) == doc.number
