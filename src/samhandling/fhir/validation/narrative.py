"""The content of a narrative (`Narrative.div`): untrusted XHTML that clients will render.

R4 §2.4.0 (narrative.html) and the invariants of Narrative.div:

- txt-1: "The narrative SHALL contain only the basic html formatting elements and attributes
  described in chapters 7-11 (except section 4 of chapter 9) and 15 of the HTML 4.0
  standard, <a> elements (either name or href), images and internally contained style
  attributes." The lists below are those the FHIR reference validator allows for txt-1.
- txt-2: "The narrative SHALL have some non-whitespace content."
- "The XHTML content SHALL NOT contain a head, a body, external stylesheet references,
  scripts, forms, base/link/xlink, frames, iframes and objects"; there are no entities
  beyond XML's own (no DTD).

So: well-formed XML without a DOCTYPE (no entity declarations, hence no entity expansion)
or processing instructions, every element in the XHTML namespace and on the list, every
attribute on the list (no `on*` event handlers), links and image sources only of the
schemes below (no `javascript:`), no script-like constructs in a `style`, and nesting no
deeper than MAX_DEPTH. Parsed with the standard library's expat, which never fetches
anything.
"""

from __future__ import annotations

import re
from xml.parsers import expat


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


XHTML = "http://www.w3.org/1999/xhtml"
XML_NS = "http://www.w3.org/XML/1998/namespace"
MAX_DEPTH = 64

ELEMENTS = _words(
    "p br div h1 h2 h3 h4 h5 h6 a span b em i strong small big tt dfn q var abbr acronym "
    "cite blockquote hr address bdo kbd sub sup ul ol li dl dt dd pre table caption colgroup "
    "col thead tr tfoot tbody th td code samp img map area"
)
GLOBAL_ATTRIBUTES = _words(
    "title style class id lang dir accesskey tabindex span width align valign char charoff "
    "abbr axis headers scope rowspan colspan"
)
ELEMENT_ATTRIBUTES = _words(
    "a.href a.name a.charset a.type a.hreflang a.rel a.rev a.shape a.coords img.src img.alt "
    "img.longdesc img.height img.width img.usemap img.ismap img.border map.name area.shape "
    "area.coords area.href area.nohref area.alt table.summary table.width table.border "
    "table.frame table.rules table.cellspacing table.cellpadding pre.space td.nowrap "
    "blockquote.cite q.cite ol.start ol.type ul.type li.value li.type"
)
URL_ATTRIBUTES = frozenset({"href", "src", "cite", "longdesc", "usemap"})
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel", "urn", "ftp"})
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_IMAGE_DATA = re.compile(r"data:image/(png|gif|jpeg|jpg|webp|bmp);", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")
# CSS that runs script (old IE `expression()`, `behavior`, `-moz-binding`), pulls in other
# style sheets (`@import`), or hides either behind an escape (`\65 xpression`).
_UNSAFE_STYLE = re.compile(
    r"expression\s*\(|javascript:|vbscript:|behavior\s*:|-moz-binding|@import|\\",
    re.IGNORECASE,
)
_STYLE_URL = re.compile(r"url\s*\(\s*['\"]?([^'\")]*)", re.IGNORECASE)


class _Refused(Exception):
    """Stops the parse at the first problem."""


class _Reader:
    """One pass over a narrative: refuses at the first problem, notes whether it has content."""

    def __init__(self) -> None:
        self.depth = 0
        self.content = False
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.StartDoctypeDeclHandler = self.doctype
        parser.EntityDeclHandler = self.doctype
        parser.ProcessingInstructionHandler = self.instruction
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.text
        self.parser = parser

    def doctype(self, *_: object) -> None:
        raise _Refused("a DOCTYPE or entity declaration is not allowed in a narrative")

    def instruction(self, *_: object) -> None:
        raise _Refused("processing instructions are not allowed in a narrative")

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Refused(f"the narrative nests deeper than {MAX_DEPTH} elements")
        namespace, _, name = tag.rpartition(" ")
        if namespace != XHTML or name not in ELEMENTS:
            raise _Refused(f"the element <{name}> is not allowed in a narrative (txt-1)")
        if name == "img":
            self.content = True
        for key, value in attributes.items():
            _check_attribute(name, key, value)

    def end(self, _tag: str) -> None:
        self.depth -= 1

    def text(self, data: str) -> None:
        if not self.content and data.strip():
            self.content = True


def _check_attribute(element: str, key: str, value: str) -> None:
    """Refuse an attribute that is not on the lists, or an unsafe URL or style."""
    namespace, _, name = key.rpartition(" ")
    allowed = (namespace == XML_NS and name == "lang") or (
        not namespace and (name in GLOBAL_ATTRIBUTES or f"{element}.{name}" in ELEMENT_ATTRIBUTES)
    )
    if not allowed:
        shown = f"{namespace} {name}" if namespace else name
        raise _Refused(f"the attribute {shown!r} is not allowed on <{element}> (txt-1)")
    if name in URL_ATTRIBUTES and not _safe_url(element, name, value):
        raise _Refused(f"the {name} of <{element}> has a URL scheme a narrative may not use")
    if name == "style" and _unsafe_style(value):
        raise _Refused(f"the style of <{element}> holds script or an unsafe URL")


def _unsafe_style(style: str) -> bool:
    """Script in CSS, or a `url()` that is not one an image may have."""
    if _UNSAFE_STYLE.search(style):
        return True
    return any(not _safe_url("img", "src", url) for url in _STYLE_URL.findall(style))


def _safe_url(element: str, attribute: str, value: str) -> bool:
    """Relative URLs and the schemes of URL_SCHEMES; data: only for images (not SVG)."""
    url = _CONTROL.sub("", value)  # browsers ignore these: "java\tscript:" is javascript:
    scheme = _SCHEME.match(url)
    if scheme is None:
        return True
    if scheme.group(1).lower() == "data":
        return element == "img" and attribute == "src" and bool(_IMAGE_DATA.match(url))
    return scheme.group(1).lower() in URL_SCHEMES


def narrative_problem(div: str) -> str | None:
    """Why this XHTML may not be stored as a narrative, or None when it may."""
    reader = _Reader()
    try:
        reader.parser.Parse(div, True)
    except _Refused as exc:
        return str(exc)
    except expat.ExpatError as exc:
        return f"the narrative is not well-formed XHTML ({expat.ErrorString(exc.code)})"
    if not reader.content:
        return "the narrative has no content (txt-2: some non-whitespace text is required)"
    return None
