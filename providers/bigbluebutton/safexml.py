"""Reading an untrusted XML answer into an ElementTree, with defusedxml's rules but not its cost.

defusedxml's `fromstring` builds its parser from the pure-Python `XMLParser` (so that it can
hook the expat handlers), which makes a Python call per element and a new parser class
instance per answer: 20-30 µs for BigBlueButton's three-element answers, more than the rest of
the client's work on them. Here expat feeds the C `TreeBuilder` directly, and the same handlers
defusedxml installs (by default) refuse what it refuses:

- an entity declaration, internal or external, parsed or not (no "billion laughs", no file or
  URL read into an answer): `EntitiesForbidden`;
- a reference to an external entity: `ExternalReferenceForbidden`.

A DTD itself is allowed, as defusedxml allows it; an entity that expat skips (undeclared, in a
document whose external DTD it does not read) is refused, as defusedxml refuses it ("undefined
entity"). Comments and processing instructions are dropped, as `ElementTree` drops them. One
difference: namespaces are not processed (BigBlueButton uses none), so a prefixed tag keeps
its prefix instead of becoming `{uri}tag`.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from defusedxml.common import EntitiesForbidden, ExternalReferenceForbidden

#: What a malformed or refused document raises (`ExpatError`, or a defusedxml `ValueError`).
ParseFailure = (expat.ExpatError, ValueError)


def fromstring(body: bytes) -> Element:
    """The root element of `body`; raises one of `ParseFailure`."""
    builder = TreeBuilder()
    parser = expat.ParserCreate()
    parser.buffer_text = True  # one data() call per text, not one per line or entity
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_external
    parser.SkippedEntityHandler = _refuse_entity
    parser.Parse(body, True)
    return builder.close()


def _refuse_entity(name: str, *_details: object) -> None:
    # Any entity declaration (or a skipped entity): its name is enough to say why.
    raise EntitiesForbidden(name, None, None, None, None, None)


def _refuse_external(context: str, base: str | None, sysid: str | None, pubid: str | None) -> int:
    raise ExternalReferenceForbidden(context, base, sysid, pubid)
