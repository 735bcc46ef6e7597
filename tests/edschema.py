"""EnterpriseData validators for tests: the official XSD under XSD 1.1 and a closed-content copy, in memory.

The official schema declares no global elements, and its trailing wildcards let unknown and misplaced
elements through (NOTES §1.3). Both are fixed on in-memory copies: the files under specs/ are read,
never changed or copied. Each validator is built once per version and test session.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import xmlschema
from lxml import etree

XS = "http://www.w3.org/2001/XMLSchema"
MSG_NS = "http://www.1c.ru/SSL/Exchange/Message"
ED_NS = "http://v8.1c.ru/edi/edi_stnd/EnterpriseData/{version}"
ED_FILES = {
    "1.11": "EnterpriseData_1_11_7.xsd",
    "1.17": "EnterpriseData_1_17_3.xsd",
    "1.20": "EnterpriseData_1_20_2.xsd",
    "1.22": "EnterpriseData_1_22_1.xsd",
}
MEMORY = "billdrop-memory:"  # scheme of the in-memory schema documents served to lxml
HEADER_URL, ED_URL = MEMORY + "ExchangeMessage.xsd", MEMORY + "EnterpriseData.xsd"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _xs(parent: etree._Element, tag: str, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{XS}}}{tag}", attributes)


def _own_prefix(schema: etree._Element) -> str:
    """The prefix a schema document uses for its own target namespace."""
    return next(p for p, uri in schema.nsmap.items() if p and uri == schema.get("targetNamespace"))


def _object_types(ed: etree._Element) -> list[str]:
    """Complex types extending Object (catalogs, documents, ...), plus УдалениеОбъекта."""
    names = {
        ct.get("name")
        for ct in ed.iterfind(f"{{{XS}}}complexType")
        if any(ext.get("base", "").endswith(":Object") for ext in ct.iter(f"{{{XS}}}extension"))
    }
    return sorted(names | {"УдалениеОбъекта"})


def _schema_documents(
    specs_dir: Path, version: str, *, closed: bool
) -> tuple[etree._Element, etree._Element]:
    """The header and ED schemas with global Header and Body; wildcards removed when `closed`."""
    folder = specs_dir / "enterprisedata"
    header = etree.parse(str(folder / "ExchangeMessage.xsd")).getroot()
    ed = etree.parse(str(folder / ED_FILES[version])).getroot()
    if closed:
        for schema in (header, ed):
            for wildcard in list(schema.iter(f"{{{XS}}}any", f"{{{XS}}}anyAttribute")):
                wildcard.getparent().remove(wildcard)
    _xs(header, "element", name="Header", type=f"{_own_prefix(header)}:Header")
    choice = _xs(
        _xs(_xs(ed, "element", name="Body"), "complexType"), "choice", minOccurs="0", maxOccurs="unbounded"
    )
    for name in _object_types(ed):
        _xs(choice, "element", name=name, type=f"{_own_prefix(ed)}:{name}")
    return header, ed


def _message_schema(version: str, locations: dict[str, str]) -> etree._Element:
    """No-namespace schema of `Message` = msg:Header, Body? (Message itself is unqualified)."""
    ed_ns = ED_NS.format(version=version)
    schema = etree.Element(f"{{{XS}}}schema", nsmap={"xs": XS, "msg": MSG_NS, "ed": ed_ns})
    for namespace in (MSG_NS, ed_ns):
        location = {"schemaLocation": locations[namespace]} if namespace in locations else {}
        _xs(schema, "import", namespace=namespace, **location)
    sequence = _xs(_xs(_xs(schema, "element", name="Message"), "complexType"), "sequence")
    _xs(sequence, "element", ref="msg:Header")
    _xs(sequence, "element", ref="ed:Body", minOccurs="0")
    return schema


@functools.cache
def official_schema(specs_dir: Path, version: str) -> xmlschema.XMLSchema11:
    """The official XSD, wildcards and all, under XSD 1.1 (lxml and XSD 1.0 reject it)."""
    header, ed = _schema_documents(specs_dir, version, closed=False)
    # One multi-source schema: the imports need no locations, every namespace is loaded here.
    sources = [etree.tostring(schema) for schema in (header, ed, _message_schema(version, {}))]
    return xmlschema.XMLSchema11(sources)


class _MemoryResolver(etree.Resolver):
    """Serves the in-memory schema documents to lxml's schema compiler."""

    def __init__(self, documents: dict[str, bytes]) -> None:
        super().__init__()
        self.documents = documents

    def resolve(self, url: str, pubid: str | None, context: object) -> object:
        if url in self.documents:
            return self.resolve_string(self.documents[url], context)
        return None


@functools.cache
def closed_schema(specs_dir: Path, version: str) -> etree.XMLSchema:
    """The closed-content copy, compiled by lxml: stricter than the official schema, never weaker."""
    header, ed = _schema_documents(specs_dir, version, closed=True)
    for imported in ed.iterfind(f"{{{XS}}}import"):
        if imported.get("namespace") == MSG_NS:
            imported.set("schemaLocation", HEADER_URL)
    parser = etree.XMLParser()
    parser.resolvers.add(_MemoryResolver({HEADER_URL: etree.tostring(header), ED_URL: etree.tostring(ed)}))
    message = _message_schema(version, {MSG_NS: HEADER_URL, ED_NS.format(version=version): ED_URL})
    return etree.XMLSchema(etree.fromstring(etree.tostring(message), parser))


def validate_message(xml: bytes, version: str, specs_dir: Path) -> list[str]:
    """Every problem the official schema, the closed copy and the Ссылка check find, each prefixed by
    its source: "official:", "closed:" or "Ссылка:". Empty when the message is valid."""
    problems = [
        f"official: {error.reason} at {error.path}"
        for error in official_schema(specs_dir, version).iter_errors(xml)
    ]
    document = etree.fromstring(xml)
    closed = closed_schema(specs_dir, version)
    if not closed.validate(document):
        problems += [f"closed: line {error.line}: {error.message}" for error in closed.error_log]
    problems += [
        f"Ссылка: line {ref.sourceline}: {ref.text!r} is not a lowercase UUID"
        for ref in document.iter(f"{{{ED_NS.format(version=version)}}}Ссылка")
        if not UUID.fullmatch(ref.text or "")
    ]
    return problems
