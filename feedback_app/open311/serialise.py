"""Open311 answers in JSON or XML (the spec's element names), built with the standard library only.

Every answer is a list of flat records: JSON is the list itself, XML is a root element holding one element per
record (``<services><service>…``). Values are text, booleans, lists of records (a service definition's
attributes) or None (an empty element, ``null`` in JSON).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from flask import Response

from ..timeutil import to_local

XML_MIMETYPE = "text/xml"
JSON_MIMETYPE = "application/json"


def iso(value: datetime | None) -> str | None:
    """An instant as the spec asks: ISO 8601 with its offset, in local time (…T09:00:00+07:00)."""
    return to_local(value).isoformat(timespec="seconds") if value is not None else None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _fill(parent: ET.Element, record: dict[str, Any]) -> None:
    for name, value in record.items():
        child = ET.SubElement(parent, name)
        if isinstance(value, list):
            # attributes -> attribute, values -> value: the spec's plural/singular pairs
            singular = name[:-1]
            for item in value:
                _fill(ET.SubElement(child, singular), item)
        elif isinstance(value, dict):
            _fill(child, value)
        else:
            child.text = _text(value)


def to_xml(root: str, item: str, records: list[dict[str, Any]]) -> bytes:
    """``<root><item>…</item>…</root>`` with the XML declaration (UTF-8, as the spec requires)."""
    element = ET.Element(root)
    for record in records:
        _fill(ET.SubElement(element, item), record)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def xml_document(root: str, record: dict[str, Any]) -> bytes:
    """One record as the root element itself (a service definition)."""
    element = ET.Element(root)
    _fill(element, record)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def answer(fmt: str, root: str, item: str, records: list[dict[str, Any]], status: int = 200) -> Response:
    """The list in the asked format."""
    if fmt == "xml":
        return Response(to_xml(root, item, records), status=status, mimetype=XML_MIMETYPE)
    body = json.dumps(records, ensure_ascii=False)
    return Response(body, status=status, mimetype=JSON_MIMETYPE)


def answer_one(fmt: str, root: str, record: dict[str, Any]) -> Response:
    """A single document: JSON object, or XML with the record as the root."""
    if fmt == "xml":
        return Response(xml_document(root, record), mimetype=XML_MIMETYPE)
    return Response(json.dumps(record, ensure_ascii=False), mimetype=JSON_MIMETYPE)


def errors(fmt: str, status: int, descriptions: list[str]) -> Response:
    """The spec's error format: ``[{"code": 400, "description": "…"}]`` / ``<errors><error>…``."""
    records = [{"code": status, "description": d} for d in descriptions]
    return answer(fmt, "errors", "error", records, status)
