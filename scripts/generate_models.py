#!/usr/bin/env python3
"""Generate plaid_link_async's models from a Plaid OpenAPI file.

    python scripts/generate_models.py                 # the default contract, in place
    python scripts/generate_models.py --spec PATH     # another spec, in place
    python scripts/generate_models.py --spec PATH --out DIR   # into another package dir

Writes into the package directory, then formats with ruff:
- `models.py`: enums, aliases and attrs classes;
- `_schema/_operations.py`: one row per operation (path, request and response model),
  which the session and the fake server route by, and the webhook table;
- `_session/_api.py`: one coroutine per operation for `AsyncLinkSession`, and its twin
  returning a `RawAPIResponse` for `session.with_raw_response`.
"""

from __future__ import annotations

import argparse
import json
import keyword
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "plaid_link_async"
DEFAULT_SPEC = ROOT.parent / "shared" / "spec" / "plaid-link-flow-contract-2020-09-14_1.778.0.yml"

sys.path.insert(0, str(Path(__file__).resolve().parent))
from field_docs import CLASS_FIELD_DOCS, FIELD_DOCS  # noqa: E402
from model_docstrings import (  # noqa: E402
    DEPRECATIONS,
    DOCSTRINGS,
    OPERATION_DOCS,
    WEBHOOK_CHOICES,
    WEBHOOK_CODES,
)

# The session sends the credentials as headers; request models never carry them.
CREDENTIAL_PROPERTIES = frozenset({"client_id", "secret"})
# Names the generated classes already use for themselves.
RESERVED_PROPERTIES = frozenset({"extra"})

_REF = "#/components/schemas/"


class SpecError(Exception):
    """The spec uses a construct the generator does not know how to map."""


@dataclass
class Field:
    name: str
    type: str
    required: bool
    nullable: bool
    constraints: dict[str, Any] = field(default_factory=dict)
    doc: str = ""


@dataclass
class ObjectSchema:
    name: str
    fields: list[Field]
    doc: str


@dataclass
class EnumSchema:
    name: str
    values: list[str]
    nullable: bool
    doc: str


@dataclass
class AliasSchema:
    name: str
    type: str
    nullable: bool
    doc: str


@dataclass
class UnionSchema:
    """A `oneOf`/`anyOf`: its members' types, told apart by `tag`'s value if it has one."""

    name: str
    members: list[str]
    tag: str | None
    mapping: dict[str, str]  # tag value -> member class name
    nullable: bool
    doc: str


@dataclass
class Operation:
    method: str
    path: str
    request: str
    response: str
    #: `deprecated: true`, with the spec release that removed it (`x-removed-in`).
    deprecated: bool = False
    removed_in: str | None = None


@dataclass
class Contract:
    version: str
    objects: list[ObjectSchema]
    enums: list[EnumSchema]
    aliases: list[AliasSchema]
    operations: list[Operation]
    unions: list[UnionSchema] = field(default_factory=list)
    #: (webhook_type, webhook_code, schema name) of every webhook schema.
    webhooks: list[tuple[str, str, str]] = field(default_factory=list)


def snake_case(name: str) -> str:
    """`linkOauthCorrelationIdExchange` -> `link_oauth_correlation_id_exchange`."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def enum_member_name(value: str) -> str:
    """A valid, upper-case Python name for enum value `value` (`401k` -> `_401K`)."""
    name = re.sub(r"[^0-9A-Za-z]+", "_", value).strip("_").upper() or "EMPTY"
    return f"_{name}" if name[0].isdigit() else name


class Generator:
    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self.schemas: Mapping[str, Any] = spec["components"]["schemas"]

    # -- classification -------------------------------------------------------

    def kind(self, name: str) -> str:
        schema = self.schemas[name]
        if "oneOf" in schema or "anyOf" in schema:
            return "union"
        if schema.get("type") == "object" or "properties" in schema:
            return "object"
        if schema.get("type") == "string" and "enum" in schema:
            return "enum"
        return "alias"

    def target(self, node: Mapping[str, Any], where: str) -> Mapping[str, Any] | None:
        """The one schema `node` wraps in `allOf`, if it is such a wrapper."""
        if "allOf" not in node:
            return None
        parts = [part for part in node["allOf"] if not _annotation_only(part)]
        if len(parts) != 1:
            raise SpecError(f"{where}: allOf with {len(parts)} schemas is not supported")
        return parts[0]

    def resolve(self, node: Mapping[str, Any], where: str) -> tuple[str, bool, dict[str, Any]]:
        """Python type, nullability and constraints of schema node `node`."""
        nullable = bool(node.get("nullable", False)) or any(
            part.get("nullable") for part in node.get("allOf", ())
        )
        inner = self.target(node, where)
        if inner is not None:
            type_, inner_nullable, constraints = self.resolve(inner, where)
            return type_, nullable or inner_nullable, constraints
        if "$ref" in node:
            name = node["$ref"].removeprefix(_REF)
            schema = self.schemas[name]
            nullable = nullable or bool(schema.get("nullable", False))
            kind = self.kind(name)
            if kind in ("object", "union"):
                return name, nullable, {}
            if kind == "enum":
                return f"{name} | str", nullable, {}
            type_, alias_nullable, constraints = self.resolve(schema, name)
            return type_, nullable or alias_nullable, constraints
        constraints = {
            key: node[spec_key]
            for spec_key, key in (
                ("minLength", "min_length"),
                ("maxLength", "max_length"),
                ("minItems", "min_items"),
                ("maxItems", "max_items"),
                ("minimum", "minimum"),
                ("maximum", "maximum"),
            )
            if spec_key in node
        }
        if "oneOf" in node or "anyOf" in node:
            union = self.union(where, node)
            return render_union_type(union), nullable or union.nullable, constraints
        type_name = node.get("type")
        if type_name is None and not node:
            return "Any", nullable, constraints
        if type_name == "string":
            if "enum" in node:
                # A null among the values is JSON null allowed, not a string "None".
                constraints["one_of"] = tuple(str(v) for v in node["enum"] if v is not None)
                nullable = nullable or None in node["enum"]
            fmt = node.get("format")
            if fmt == "date-time":
                return "datetime.datetime", nullable, constraints
            if fmt == "date":
                return "datetime.date", nullable, constraints
            return "str", nullable, constraints
        if type_name == "integer":
            return "int", nullable, constraints
        if type_name == "number":
            return "float", nullable, constraints
        if type_name == "boolean":
            return "bool", nullable, constraints
        if type_name == "array":
            item_type, item_nullable, _ = self.resolve(node.get("items") or {}, where)
            if item_nullable and item_type != "Any":
                item_type = f"{item_type} | None"
            return f"list[{item_type}]", nullable, constraints
        if type_name == "object":
            return "dict[str, Any]", nullable, constraints
        raise SpecError(f"{where}: unsupported schema {dict(node)!r}")

    # -- building -------------------------------------------------------------

    def build(self) -> Contract:
        objects, enums, aliases, unions = [], [], [], []
        for name in sorted(self.schemas):
            schema = self.schemas[name]
            doc = docstring_for(name, self.kind(name))
            kind = self.kind(name)
            if kind == "object":
                objects.append(ObjectSchema(name, self.fields(name, schema), doc))
            elif kind == "union":
                union = self.union(name, schema)
                union.doc = doc
                unions.append(union)
            elif kind == "enum":
                # A null among the values is JSON null allowed: the field is `Enum | None`,
                # never a member standing for it.
                values = [str(v) for v in schema["enum"] if v is not None]
                nullable = bool(schema.get("nullable")) or None in schema["enum"]
                enums.append(EnumSchema(name, values, nullable, doc))
            else:
                type_, nullable, _ = self.resolve(schema, name)
                aliases.append(AliasSchema(name, type_, nullable, doc))
        return Contract(
            version=str(self.spec["info"]["version"]),
            objects=objects,
            enums=enums,
            aliases=aliases,
            operations=self.operations(),
            webhooks=self.webhooks(),
            unions=unions,
        )

    def union(self, name: str, schema: Mapping[str, Any]) -> UnionSchema:
        """The union a `oneOf`/`anyOf` node makes; an object-only union also keeps a
        member it does not know (a newer tag, or none) as the plain dict."""
        parts = schema.get("oneOf") or schema.get("anyOf") or []
        members: list[str] = []
        nullable = bool(schema.get("nullable"))
        objects = True
        for index, part in enumerate(parts):
            if part.get("type") == "null":
                nullable = True
                continue
            type_, part_nullable, _ = self.resolve(part, f"{name}[{index}]")
            nullable = nullable or part_nullable
            objects = objects and type_ in self.schemas and self.kind(type_) == "object"
            if type_ not in members:
                members.append(type_)
        if not members:
            raise SpecError(f"{name}: a union without members")
        discriminator = schema.get("discriminator") or {}
        tag = discriminator.get("propertyName")
        mapping: dict[str, str] = {}
        if tag is not None:
            if not objects:
                raise SpecError(f"{name}: a discriminator over members that are not objects")
            given = discriminator.get("mapping") or {}
            for value, ref in given.items():
                target = str(ref).removeprefix(_REF)
                if target not in members:
                    raise SpecError(f"{name}: discriminator maps {value!r} to a non-member")
                mapping[str(value)] = target
            # OpenAPI: a member the mapping leaves out is tagged with its schema name.
            for member in members:
                if member not in mapping.values():
                    mapping[member] = member
        if objects:
            members.append("dict[str, Any]")
        return UnionSchema(name, members, tag, mapping, nullable, "")

    def webhooks(self) -> list[tuple[str, str, str]]:
        """Every schema with `webhook_type` and `webhook_code`, with the pair it carries:
        from its example, or from `WEBHOOK_CODES` where the spec has none."""
        found = []
        for name, schema in self.schemas.items():
            properties = schema.get("properties") or {}
            if "webhook_type" not in properties or "webhook_code" not in properties:
                continue
            pair = WEBHOOK_CODES.get(name)
            for example in (schema.get("x-examples") or {}).values():
                if isinstance(example, Mapping) and "webhook_code" in example:
                    pair = (str(example["webhook_type"]), str(example["webhook_code"]))
                    break
            if pair is None:
                raise SpecError(f"{name}: a webhook schema without its type and code")
            found.append((*pair, name))
        # Two schemas may claim one (type, code): the body is read as the one with the
        # most properties (the other's fields are a subset, or land in `extra`), ties by
        # name, and the choice is the documented table's where it has one.
        chosen: dict[tuple[str, str], str] = {}
        for kind, code, name in sorted(found):
            other = chosen.get((kind, code))
            if other is None or self._prefer(name, other, (kind, code)):
                chosen[(kind, code)] = name
        return sorted((kind, code, name) for (kind, code), name in chosen.items())

    def _prefer(self, name: str, other: str, pair: tuple[str, str]) -> bool:
        if pair in WEBHOOK_CHOICES:
            return WEBHOOK_CHOICES[pair] == name
        size = len(self.schemas[name].get("properties") or {})
        other_size = len(self.schemas[other].get("properties") or {})
        return size > other_size

    def fields(self, owner: str, schema: Mapping[str, Any]) -> list[Field]:
        required = set(schema.get("required") or ())
        fields = []
        for name, node in (schema.get("properties") or {}).items():
            if name in CREDENTIAL_PROPERTIES:
                continue
            if keyword.iskeyword(name) or name in RESERVED_PROPERTIES or not name.isidentifier():
                raise SpecError(f"{owner}.{name}: property name is not usable as an attribute")
            type_, nullable, constraints = self.resolve(node, f"{owner}.{name}")
            doc = self.field_doc(owner, name, type_)
            fields.append(Field(name, type_, name in required, nullable, constraints, doc))
        # Required first, each group in the spec's own order (`sorted` is stable).
        return sorted(fields, key=lambda f: not f.required)

    def field_doc(self, owner: str, name: str, type_: str) -> str:
        """Our line for the field, else the docstring of the one model its type names."""
        doc = CLASS_FIELD_DOCS.get(f"{owner}.{name}") or FIELD_DOCS.get(name)
        if doc:
            return doc
        named = {
            word
            for word in re.findall(r"[A-Za-z_]\w*", type_)
            if word in self.schemas and self.kind(word) == "object"
        }
        if len(named) == 1:
            return docstring_for(named.pop(), "object")
        return f"Not described here yet: see `{owner}.{name}` in Plaid's API reference."

    def operations(self) -> list[Operation]:
        ops = []
        for path, item in self.spec["paths"].items():
            for op in item.values():
                if not isinstance(op, Mapping) or "operationId" not in op:
                    continue
                request = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                response = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
                removed = op.get("x-removed-in")
                ops.append(
                    Operation(
                        method=snake_case(op["operationId"]),
                        path=path,
                        request=request.removeprefix(_REF),
                        response=response.removeprefix(_REF),
                        deprecated=bool(op.get("deprecated")),
                        removed_in=None if removed is None else str(removed),
                    )
                )
        return sorted(ops, key=lambda o: o.method)


# Keys that describe a schema without constraining it; an allOf part made only of
# these (Plaid adds one to attach a description to a $ref) changes nothing.
_ANNOTATIONS = frozenset({"description", "title", "example", "examples", "deprecated", "nullable"})


def _annotation_only(part: Mapping[str, Any]) -> bool:
    return all(key in _ANNOTATIONS or key.startswith("x-") for key in part)


def docstring_for(name: str, kind: str) -> str:
    if name in DOCSTRINGS:
        return DOCSTRINGS[name]
    # A schema newer than our hand-written docstrings: say where it comes from.
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    noun = {"object": "Object", "enum": "Values", "alias": "Type", "union": "One"}[kind]
    return f"{noun} of Plaid's `{name}` schema ({words.lower()})."


# -- rendering ---------------------------------------------------------------

HEADER = """\
# Generated by scripts/generate_models.py from Plaid's OpenAPI contract {version}.
# Do not edit: change the generator or the spec and run it again.
# Derived from plaid/plaid-openapi (MIT License, Copyright (c) 2020 Plaid Inc.).
"""


def render_models(contract: Contract) -> str:
    out = [HEADER.format(version=contract.version)]
    out.append(
        f'"""Typed models of Plaid\'s Link API, contract {contract.version}.\n\n'
        "Every schema of the contract has one name here: an attrs class per object, a `str`\n"
        "enum per enumeration and a type alias per other type. Unknown response keys land in\n"
        "each object's `extra`; enum fields also accept plain strings for values newer than\n"
        'this file.\n"""\n'
    )
    out.append(
        "from __future__ import annotations\n\n"
        "import datetime\n"
        "import enum\n"
        "from typing import Annotated, Any, Final, TypeAlias\n\n"
        "import attrs\n\n"
        "from ._schema._model_base import Model, OneOf\n\n"
        f'SPEC_VERSION: Final = "{contract.version}"\n\n'
    )
    # Classes first, then enums, then aliases: the order the reference shows them in.
    # The classes' annotations are strings (`from __future__ import annotations`), so
    # they may name enums and aliases defined further down.
    for obj in contract.objects:
        out.append(render_object(obj))
    for schema in contract.enums:
        out.append(render_enum(schema))
    for alias in contract.aliases:
        type_ = f"{alias.type} | None" if alias.nullable else alias.type
        out.append(f'{alias.name}: TypeAlias = {type_}\n"""{alias.doc}"""\n\n')
    # Unions last: their members are classes, evaluated here, not strings.
    for union in contract.unions:
        out.append(f'{union.name}: TypeAlias = {render_union_type(union)}\n"""{union.doc}"""\n\n')
    names = sorted(
        [s.name for s in contract.enums]
        + [a.name for a in contract.aliases]
        + [u.name for u in contract.unions]
        + [o.name for o in contract.objects]
        + ["SPEC_VERSION"]
    )
    out.append("__all__ = [\n" + "".join(f'    "{n}",\n' for n in names) + "]\n")
    return "\n".join(out)


def render_union_type(union: UnionSchema) -> str:
    """`Annotated[A | B | dict[str, Any], OneOf(tag=..., mapping=...)]`: the members as
    the type checker sees them, and how the converter tells them apart."""
    args = []
    if union.tag is not None:
        pairs = ", ".join(f"{value!r}: {cls}" for value, cls in union.mapping.items())
        args = [f"tag={union.tag!r}", f"mapping={{{pairs}}}"]
    return f"Annotated[{' | '.join(union.members)}, OneOf({', '.join(args)})]"


def render_enum(schema: EnumSchema) -> str:
    lines = [f"class {schema.name}(str, enum.Enum):", f'    """{schema.doc}"""', ""]
    seen: set[str] = set()
    for value in schema.values:
        member = enum_member_name(value)
        if member in seen:
            raise SpecError(f"{schema.name}: two values map to member {member}")
        seen.add(member)
        lines.append(f"    {member} = {value!r}")
    lines += ["", "    def __str__(self) -> str:", "        return self.value", ""]
    return "\n".join(lines) + "\n"


def render_object(obj: ObjectSchema) -> str:
    lines = [
        "@attrs.frozen(kw_only=True, repr=False)",
        f"class {obj.name}(Model):",
        f'    """{obj.doc}"""',
        "",
    ]
    for f in obj.fields:
        type_ = f.type if not (f.nullable or not f.required) else f"{f.type} | None"
        metadata = dict(f.constraints)
        if f.nullable:
            metadata["nullable"] = True
        args = []
        if not f.required:
            args.append("default=None")
        if metadata:
            args.append(f"metadata={metadata!r}")
        if f.required and not metadata:
            lines.append(f"    {f.name}: {type_}")
        elif not f.required and not metadata:
            lines.append(f"    {f.name}: {type_} = None")
        else:
            lines.append(f"    {f.name}: {type_} = attrs.field({', '.join(args)})")
        # An attribute docstring: IDEs show it on hover, mkdocstrings under the field.
        lines.append(f'    """{f.doc}"""')
    if not obj.fields:
        lines.append("    pass")
    return "\n".join(lines) + "\n\n"


def render_endpoints(contract: Contract) -> str:
    webhooks = contract.webhooks
    rows = "".join(
        f'    "{op.method}": Endpoint("{op.path}", "{op.request}", "{op.response}"),\n'
        for op in contract.operations
    )
    return (
        HEADER.format(version=contract.version)
        + '"""The operations of the contract: method name, path, request and response model."""\n\n'
        "from __future__ import annotations\n\n"
        "from typing import Final, NamedTuple\n\n\n"
        "class Endpoint(NamedTuple):\n"
        '    """One POST operation; models are named, not imported, so this loads for free."""\n\n'
        "    path: str\n"
        "    request: str\n"
        "    response: str\n\n\n"
        f"ENDPOINTS: Final = {{\n{rows}}}\n\n"
        "#: What a deprecated operation warns: since when, and what to use instead.\n"
        "DEPRECATED: Final[dict[str, str]] = {\n"
        + "".join(
            f'    "{op.method}": (\n{_string_lines(deprecation(op), " " * 8)}    ),\n'
            for op in contract.operations
            if op.deprecated
        )
        + "}\n\n"
        "#: The model of each webhook, by (webhook_type, webhook_code).\n"
        "WEBHOOKS: Final[dict[tuple[str, str], str]] = {\n"
        + "".join(f'    ("{kind}", "{code}"): "{name}",\n' for kind, code, name in webhooks)
        + "}\n"
    )


API_HEADER = """\
\"\"\"The contract's operations as coroutines: one per operation, and its raw twin.

`AsyncLinkSession` gets the coroutines from `EndpointMethods`, `session.with_raw_response`
the twins from `RawEndpointMethods`. Each is a thin typed face over the one request path
(`_call`), which owns transport, retries, errors and parsing.
\"\"\"

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from .._schema._operations import DEPRECATED

if TYPE_CHECKING:
    from .. import models
    from .._calls._outcome import Outcome, RawAPIResponse
    from .._calls._retry_policy import RetryPolicy
    from .._calls._settings import Timeout
    from .._schema._model_base import Model


def _warn_deprecated(method: str) -> None:
    # stacklevel 3: past this function and the coroutine, to the line that awaited it.
    warnings.warn(DEPRECATED[method], DeprecationWarning, stacklevel=3)

"""


def _class_header(name: str, doc: str, path: str, strict: str, returns: str) -> str:
    """A mixin's head: its docstring and the request path it expects its host to have."""
    return f"""

class {name}:
    \"\"\"{doc}\"\"\"

    __slots__ = ()

    if TYPE_CHECKING:

        async def {path}(
            self,
            name: str,
            request: Model,
            timeout: float | Timeout | None,
            retry: RetryPolicy | None,
            {strict}: bool | None,
        ) -> {returns}: ...
"""


# The coroutines await the session's `_call` itself: one more coroutine between them
# was a measurable share of the library's own work per call (docs/performance.md).
ENDPOINT_HEADER = _class_header(
    "EndpointMethods",
    "One coroutine per operation of the contract.",
    "_call",
    "*, strict",
    "Outcome",
)
RAW_HEADER = _class_header(
    "RawEndpointMethods",
    "The same operations, each returning a `RawAPIResponse` (status, headers, timing).",
    "_raw",
    "strict",
    "RawAPIResponse[Any]",
)

RAISES = """
        Raises:
            RequestValidationError: the request breaks the contract; nothing was sent.
            PlaidAPIError: Plaid refused it (a subclass per `error_type`).
            TransportError: no answer (`PlaidTimeoutError` when out of time).
            UnexpectedResponseError: an answer that is no answer to this call."""


def render_api(contract: Contract) -> str:
    out = [HEADER.format(version=contract.version), API_HEADER, ENDPOINT_HEADER]
    for op in contract.operations:
        out.append(_render_method(op, raw=False))
    out.append(RAW_HEADER)
    for op in contract.operations:
        out.append(_render_method(op, raw=True))
    return "".join(out)


def deprecation(op: Operation) -> str:
    """What the warning of a deprecated operation says: since when, and what instead."""
    return f"{op.method} is deprecated: Plaid removed POST {op.path} {_removal(op)}"


def _removal(op: Operation) -> str:
    """`from its API in <release>; <what to use instead>`."""
    removed = f" in {op.removed_in}" if op.removed_in else ""
    instead = DEPRECATIONS.get(op.method, "see Plaid's API changelog for what replaces it")
    return f"from its API{removed}; {instead}"


def _string_lines(text: str, indent: str) -> str:
    """`text` as adjacent string literals of at most 72 characters, one per line."""
    pieces = textwrap.wrap(text, 72, drop_whitespace=False, break_on_hyphens=False)
    return "".join(f"{indent}{piece!r}\n" for piece in pieces)


def _render_method(op: Operation, *, raw: bool) -> str:
    summary, note = OPERATION_DOCS.get(op.method, (f"Call `{op.path}`.", ""))
    returns = f"models.{op.response}"
    warn = ""
    if op.deprecated:
        warn = f'        _warn_deprecated("{op.method}")\n'
        summary = f"Deprecated. {summary}"
        note = f"Plaid removed it {_removal(op)}." + (f" {note}" if note else "")
    if raw:
        returns = f"RawAPIResponse[{returns}]"
        doc = f"`AsyncLinkSession.{op.method}`, returning the raw response too."
        if op.deprecated:
            doc += f"\n\n        Deprecated, as `AsyncLinkSession.{op.method}` is.\n        "
        body = warn + (
            f"        response: {returns} = await self._raw(\n"
            f'            "{op.method}", request, timeout, retry, strict\n'
            "        )\n"
            "        return response\n"
        )
    else:
        paragraph = f"`POST {op.path}`." + (f" {note}" if note else "")
        doc = (
            summary
            + "\n\n"
            + textwrap.fill(
                paragraph,
                88,
                initial_indent=" " * 8,
                subsequent_indent=" " * 8,
                break_on_hyphens=False,
            )
        )
        doc += (
            "\n\n        Args:\n"
            f"            request: the `{op.request}` body.\n"
            "            timeout: this call's limits instead of the session's.\n"
            "            retry: this call's retry policy instead of the session's.\n"
            "            strict: raise on any drift in the answer (None: the session's\n"
            "                setting).\n" + RAISES + "\n        "
        )
        call = f'self._call("{op.method}", request, timeout, retry, strict=strict)'
        body = warn + (
            f"        outcome = await {call}\n"
            f"        result: {returns} = outcome.result\n"
            "        return result\n"
        )
    return (
        f"\n    async def {op.method}(\n"
        "        self,\n"
        f"        request: models.{op.request},\n"
        "        *,\n"
        "        timeout: float | Timeout | None = None,\n"
        "        retry: RetryPolicy | None = None,\n"
        "        strict: bool | None = None,\n"
        f"    ) -> {returns}:\n"
        f'        """{doc}"""\n' + body
    )


def ruff_format(paths: Iterable[Path]) -> None:
    paths = list(paths)
    cmd = [sys.executable, "-m", "ruff"]
    env = dict(os.environ)
    subprocess.run(
        [*cmd, "check", "--fix", "--quiet", "--select", "I,F401", *map(str, paths)],
        check=False,
        cwd=ROOT,
        env=env,
    )
    subprocess.run([*cmd, "format", "--quiet", *map(str, paths)], check=True, cwd=ROOT, env=env)


#: Schemas the contract leaves out that plaid-python types (see the file's comment).
SUPPLEMENT = Path(__file__).resolve().parent / "contract_supplement.yml"


def load_spec(path: Path) -> dict[str, Any]:
    """The contract at `path`, with the schemas of `SUPPLEMENT` it does not have."""
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    with SUPPLEMENT.open(encoding="utf-8") as handle:
        extra: dict[str, Any] = yaml.safe_load(handle)
    schemas = data.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in extra["components"]["schemas"].items():
        # Only where every schema it names is there: an older contract may lack them.
        names = re.findall(r"#/components/schemas/(\w+)", json.dumps(schema))
        if all(ref in schemas for ref in names):
            schemas.setdefault(name, schema)
    return data


def generate(spec_path: Path, out_dir: Path, *, format_code: bool = True) -> Contract:
    contract = Generator(load_spec(spec_path)).build()
    files = {
        out_dir / "models.py": render_models(contract),
        out_dir / "_schema" / "_operations.py": render_endpoints(contract),
        out_dir / "_session" / "_api.py": render_api(contract),
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if format_code:
        ruff_format(files)
    return contract


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="OpenAPI YAML file")
    parser.add_argument("--out", type=Path, default=PACKAGE, help="package directory to write")
    parser.add_argument("--no-format", action="store_true", help="skip ruff (for debugging)")
    args = parser.parse_args(argv)
    if not args.spec.is_file():
        parser.error(f"no spec at {args.spec}")
    contract = generate(args.spec, args.out, format_code=not args.no_format)
    print(
        f"{contract.version}: {len(contract.objects)} classes, {len(contract.enums)} enums, "
        f"{len(contract.aliases)} aliases, {len(contract.operations)} operations -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
