"""Validators for EnterpriseData messages: the official XSD under XSD 1.1, and a closed-content copy.

The official schema declares no global elements and lets unknown or misplaced elements through its
wildcards; both are fixed in memory only (NOTES §1.3): the files under specs/ are never changed.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import xmlschema
from lxml import etree

XS = "http://www.w3.org/2001/XMLSchema"
MSG_NS = "http://www.1c.ru/SSL/Exchange/Message"
ED_FILES = {"1.11": "EnterpriseData_1_11_7.xsd", "1.17": "EnterpriseData_1_17_3.xsd",
            "1.20": "EnterpriseData_1_20_2.xsd", "1.22": "EnterpriseData_1_22_1.xsd"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _object_types(ed_xsd: etree._ElementTree) -> list[str]:
    """Complex types that extend Object (the catalogs and documents), plus УдалениеОбъекта."""
    names = [
        ct.get("name")
        for ct in ed_xsd.getroot().iterfind(f"{{{XS}}}complexType")
        if any(ext.get("base", "").endswith(":Object") for ext in ct.iter(f"{{{XS}}}extension"))
    ]
    return sorted(set(names) | {"УдалениеОбъекта"})


def _wrappers(ed_path: Path, ed_ns: str, types: list[str]) -> tuple[str, str, str]:
    header = f"""<xs:schema xmlns:xs="{XS}" xmlns:tns="{MSG_NS}" targetNamespace="{MSG_NS}"
        elementFormDefault="qualified"><xs:include schemaLocation="{{header}}"/>
        <xs:element name="Header" type="tns:Header"/></xs:schema>"""
    choices = "".join(f'<xs:element name="{t}" type="ed:{t}"/>' for t in types)
    body = f"""<xs:schema xmlns:xs="{XS}" xmlns:ed="{ed_ns}" targetNamespace="{ed_ns}" elementFormDefault="qualified">
        <xs:import namespace="{MSG_NS}" schemaLocation="header_wrapper.xsd"/>
        <xs:include schemaLocation="{ed_path.as_uri()}"/>
        <xs:element name="Body"><xs:complexType><xs:choice minOccurs="0" maxOccurs="unbounded">{choices}
        </xs:choice></xs:complexType></xs:element></xs:schema>"""
    message = f"""<xs:schema xmlns:xs="{XS}" xmlns:msg="{MSG_NS}" xmlns:ed="{ed_ns}">
        <xs:import namespace="{MSG_NS}" schemaLocation="header_wrapper.xsd"/>
        <xs:import namespace="{ed_ns}" schemaLocation="body_wrapper.xsd"/>
        <xs:element name="Message"><xs:complexType><xs:sequence><xs:element ref="msg:Header"/>
        <xs:element ref="ed:Body" minOccurs="0"/></xs:sequence></xs:complexType></xs:element></xs:schema>"""
    return header, body, message


def _closed_copy(path: Path, target: Path) -> Path:
    """The schema with every xs:any / xs:anyAttribute removed: stricter than the official one."""
    tree = etree.parse(str(path))
    for wildcard in list(tree.iter(f"{{{XS}}}any", f"{{{XS}}}anyAttribute")):
        wildcard.getparent().remove(wildcard)
    for imp in tree.iter(f"{{{XS}}}import"):
        if imp.get("namespace") == MSG_NS:
            imp.set("schemaLocation", "header_wrapper.xsd")
    tree.write(str(target), xml_declaration=True, encoding="UTF-8")
    return target


def _write_wrappers(folder: Path, ed_path: Path, header_path: Path, version: str) -> Path:
    ed_ns = f"http://v8.1c.ru/edi/edi_stnd/EnterpriseData/{version}"
    types = _object_types(etree.parse(str(ed_path)))
    header, body, message = _wrappers(ed_path, ed_ns, types)
    (folder / "header_wrapper.xsd").write_text(header.replace("{header}", header_path.as_uri()), encoding="utf-8")
    (folder / "body_wrapper.xsd").write_text(body, encoding="utf-8")
    (folder / "message.xsd").write_text(message, encoding="utf-8")
    return folder / "message.xsd"


@functools.cache
def official_schema(specs: Path, version: str, workdir: Path) -> xmlschema.XMLSchema11:
    """The official XSD (XSD 1.1, wildcards and all), wrapped with global Message/Header/Body."""
    ed = specs / "enterprisedata"
    folder = workdir / f"official-{version}"
    folder.mkdir(parents=True, exist_ok=True)
    entry = _write_wrappers(folder, ed / ED_FILES[version], ed / "ExchangeMessage.xsd", version)
    return xmlschema.XMLSchema11(str(entry))


@functools.cache
def closed_schema(specs: Path, version: str, workdir: Path) -> etree.XMLSchema:
    """The closed-content copy compiled by lxml (XSD 1.0 accepts it once the wildcards are gone)."""
    ed = specs / "enterprisedata"
    folder = workdir / f"closed-{version}"
    folder.mkdir(parents=True, exist_ok=True)
    header = _closed_copy(ed / "ExchangeMessage.xsd", folder / "ExchangeMessage.xsd")
    ed_copy = _closed_copy(ed / ED_FILES[version], folder / ED_FILES[version])
    entry = _write_wrappers(folder, ed_copy, header, version)
    return etree.XMLSchema(etree.parse(str(entry)))


def validate_message(xml: bytes, version: str, specs: Path, workdir: Path) -> list[str]:
    """Every problem the official schema, the closed copy and the Ссылка UUID check find."""
    problems = [f"official: {e.reason} at {e.path}" for e in official_schema(specs, version, workdir).iter_errors(xml)]
    closed = closed_schema(specs, version, workdir)
    doc = etree.fromstring(xml)
    if not closed.validate(doc):
        problems += [f"closed: line {e.line}: {e.message}" for e in closed.error_log]
    ed_ns = f"http://v8.1c.ru/edi/edi_stnd/EnterpriseData/{version}"
    problems += [f"Ссылка is not a UUID: {r.text!r}" for r in doc.iter(f"{{{ed_ns}}}Ссылка") if not UUID.match(r.text or "")]
    return problems
