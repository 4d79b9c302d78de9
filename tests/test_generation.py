"""The committed models match the contract, and the generator handles Plaid's next spec."""

from __future__ import annotations

import contextlib
import copy
import enum
import importlib
import inspect
import shutil
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

from plaid_link_async import models
from plaid_link_async._schema._field_plans import Kind, TypePlan

from ._helpers import attribute_docstrings
from .conftest import ROOT, response_examples

sys.path.insert(0, str(ROOT / "scripts"))
import generate_models

_REF = "#/components/schemas/"
_CREDENTIALS = {"client_id", "secret"}
_CONSTRAINTS = {
    "minLength": "min_length",
    "maxLength": "max_length",
    "minItems": "min_items",
    "maxItems": "max_items",
    "minimum": "minimum",
    "maximum": "maximum",
}

# -- the contract's shape, read straight from the YAML ------------------------------------


def _spec_type(schemas: dict[str, Any], node: dict[str, Any]) -> tuple[str, bool, dict[str, Any]]:
    """(type, nullable, constraints) of a property, as the contract states it."""
    nullable = bool(node.get("nullable")) or any(p.get("nullable") for p in node.get("allOf", []))
    parts = [part for part in node.get("allOf", []) if "$ref" in part or "type" in part]
    if parts:
        type_, inner_nullable, constraints = _spec_type(schemas, parts[0])
        return type_, nullable or inner_nullable, constraints
    if "$ref" in node:
        name = node["$ref"].removeprefix(_REF)
        if name not in schemas:
            return f"dangling:{name}", nullable, {}
        target = schemas[name]
        if "properties" in target or target.get("type") == "object":
            return f"model:{name}", nullable or bool(target.get("nullable")), {}
        if "enum" in target:
            # A null among the values makes the field nullable; it is no member.
            null = None in target["enum"]
            return f"enum:{name}", nullable or bool(target.get("nullable")) or null, {}
        type_, inner_nullable, constraints = _spec_type(schemas, target)
        return type_, nullable or inner_nullable, constraints
    if "oneOf" in node or "anyOf" in node:
        return _spec_union(schemas, node)[0], nullable, {}
    constraints = {ours: node[theirs] for theirs, ours in _CONSTRAINTS.items() if theirs in node}
    if "enum" in node:
        constraints["one_of"] = tuple(value for value in node["enum"] if value is not None)
        nullable = nullable or None in node["enum"]
    kind = node.get("type")
    if kind == "array":
        item, item_nullable, _ = _spec_type(schemas, node.get("items") or {})
        item = f"{item}?" if item_nullable and item != "any" else item
        return f"list[{item}]", nullable, constraints
    if kind == "string":
        fmt = {"date-time": "datetime", "date": "date"}.get(node.get("format", ""), "str")
        return fmt, nullable, constraints
    names = {"integer": "int", "number": "float", "boolean": "bool", "object": "dict", None: "any"}
    return names[kind], nullable, constraints


def _spec_union(schemas: dict[str, Any], node: dict[str, Any]) -> tuple[str, Any]:
    """A union as the contract states it: its members (objects-only unions keep an
    unknown member as a dict), and its discriminator's tag and mapping."""
    parts = node.get("oneOf") or node.get("anyOf") or []
    members = [_spec_type(schemas, part)[0] for part in parts]
    if all(member.startswith("model:") for member in members):
        members.append("dict")
    discriminator = node.get("discriminator") or {}
    mapping = {
        str(value): ref.removeprefix(_REF)
        for value, ref in (discriminator.get("mapping") or {}).items()
    }
    if discriminator.get("propertyName"):  # OpenAPI: a member left out goes by its name
        for member in members:
            named = member.removeprefix("model:")
            if member.startswith("model:") and named not in mapping.values():
                mapping[named] = named
    return f"union[{'|'.join(members)}]", (discriminator.get("propertyName"), mapping)


def contract_shape(spec: dict[str, Any]) -> dict[str, Any]:
    schemas = spec["components"]["schemas"]
    shape: dict[str, Any] = {}
    for name, schema in schemas.items():
        if "properties" in schema or schema.get("type") == "object":
            required = set(schema.get("required", []))
            shape[name] = {
                prop: (*_spec_type(schemas, node), prop in required)
                for prop, node in schema.get("properties", {}).items()
                if prop not in _CREDENTIALS
            }
        elif "enum" in schema:
            shape[name] = tuple(str(value) for value in schema["enum"] if value is not None)
        elif "oneOf" in schema or "anyOf" in schema:
            shape[name] = ("union", *_spec_union(schemas, schema))
        else:
            type_, nullable, _ = _spec_type(schemas, schema)
            shape[name] = ("alias", type_, nullable)
    return shape


# -- the models' shape, read from the classes at run time ---------------------------------


def _plan_type(plan: TypePlan) -> str:
    if plan.kind == Kind.MODEL:
        assert plan.model is not None
        return f"model:{plan.model.__name__}"
    if plan.kind == Kind.ENUM:
        assert plan.enum is not None
        return f"enum:{plan.enum.__name__}"
    if plan.kind == Kind.LIST:
        assert plan.item is not None
        item = _plan_type(plan.item)
        return f"list[{item}?]" if plan.item.nullable and item != "any" else f"list[{item}]"
    if plan.kind == Kind.UNION:
        return f"union[{'|'.join(_plan_type(variant) for variant in plan.variants)}]"
    return plan.kind.value


def models_shape(module: types.ModuleType) -> dict[str, Any]:
    # The package's own plans and base class: a regenerated copy has its own.
    package = importlib.import_module(module.__name__.rsplit(".", 1)[0])
    plans = importlib.import_module(f"{package.__name__}._schema._field_plans")
    plan_model, plan_type = plans.plan_model, plans.plan_type
    shape: dict[str, Any] = {}
    for name in module.__all__:
        obj = getattr(module, name)
        if name == "SPEC_VERSION":
            continue
        if isinstance(obj, type) and issubclass(obj, package.Model):
            fields = {}
            for field in plan_model(obj):
                meta = dict(field.metadata)
                nullable = meta.pop("nullable", False)
                # The annotation must agree with the flags: `| None` exactly where needed.
                assert field.type.nullable == (nullable or not field.required), (name, field.name)
                fields[field.name] = (_plan_type(field.type), nullable, meta, field.required)
            shape[name] = fields
        elif isinstance(obj, type) and issubclass(obj, enum.Enum):
            shape[name] = tuple(member.value for member in obj)
        else:
            plan = plan_type(obj)
            if plan.kind == Kind.UNION:
                one_of = plan.one_of
                mapping = {value: cls.__name__ for value, cls in one_of.mapping.items()}
                shape[name] = ("union", _plan_type(plan), (one_of.tag, mapping))
            else:
                shape[name] = ("alias", _plan_type(plan), plan.nullable)
    return shape


def drift(spec: dict[str, Any], module: types.ModuleType) -> list[str]:
    """Every difference between the contract and the models, one line each."""
    want, have = contract_shape(spec), models_shape(module)
    problems = [f"schema missing from models: {n}" for n in sorted(want.keys() - have.keys())]
    problems += [f"schema not in contract: {n}" for n in sorted(have.keys() - want.keys())]
    for name in sorted(want.keys() & have.keys()):
        expected, actual = want[name], have[name]
        if isinstance(expected, dict) and isinstance(actual, dict):
            for prop in sorted(expected.keys() | actual.keys()):
                if expected.get(prop) != actual.get(prop):
                    problems.append(
                        f"{name}.{prop}: contract {expected.get(prop)}, models {actual.get(prop)}"
                    )
        elif expected != actual:
            problems.append(f"{name}: contract {expected}, models {actual}")
    return problems


# -- tests -----------------------------------------------------------------------------------


def test_the_models_match_the_contract(spec: dict[str, Any]) -> None:
    assert drift(spec, models) == []
    kinds = [type(v).__name__ for v in contract_shape(spec).values()]
    # Objects, enums (aliases and the one union are tuples too: 29 of them) and all
    # schemas of 1.778.0, with the two of scripts/contract_supplement.yml.
    assert (kinds.count("dict"), kinds.count("tuple") - 29, len(kinds)) == (130, 48, 207)


def test_every_field_has_a_meaning_of_our_own_and_no_line_is_stale() -> None:
    from field_docs import CLASS_FIELD_DOCS, FIELD_DOCS

    fields = {
        f"{name}.{field.name}": field.name
        for name, cls in vars(models).items()
        if inspect.isclass(cls) and attrs.has(cls) and cls.__module__ == models.__name__
        for field in attrs.fields(cls)
        if field.name != "extra"
    }
    assert len(fields) == 512 + 11  # the contract's, and the supplement's two webhooks
    assert [k for k, n in fields.items() if k not in CLASS_FIELD_DOCS and n not in FIELD_DOCS] == []
    assert [k for k in CLASS_FIELD_DOCS if k not in fields] == []
    # Each reaches the code as an attribute docstring: a string right after the field.
    assert set(attribute_docstrings(models)) == set(fields)


def test_a_field_newer_than_our_lines_is_described_by_its_type_or_plainly() -> None:
    schemas = {
        "Outer": {
            "type": "object",
            "properties": {
                "brand_new": {"$ref": "#/components/schemas/LinkTokenEUConfig"},
                "mystery": {"type": "string"},
            },
        },
        "LinkTokenEUConfig": {"type": "object", "properties": {}},
    }
    built = generate_models.Generator({"components": {"schemas": schemas}})
    docs = {f.name: f.doc for f in built.fields("Outer", schemas["Outer"])}
    assert docs["brand_new"] == "Options for Link flows in the EU."
    assert docs["mystery"].startswith("Not described here yet: see `Outer.mystery`")


def test_the_schemas_plaid_removed_are_gone() -> None:
    for name in ("LinkTokenCreateRequestDepositSwitch", "PrismProduct", "UserToken"):
        assert not hasattr(models, name)


def _mutations(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    def mutated(change: Any) -> dict[str, Any]:
        clone = copy.deepcopy(spec)
        change(clone["components"]["schemas"])
        return clone

    yield (
        "LinkTokenCreateResponse.hosted_link_url",
        mutated(lambda s: s["LinkTokenCreateResponse"]["properties"].pop("hosted_link_url")),
    )
    yield (
        "LinkTokenCreateResponse.brand_new",
        mutated(
            lambda s: s["LinkTokenCreateResponse"]["properties"].update(
                brand_new={"type": "string"}
            )
        ),
    )
    yield (
        "LinkTokenGetRequest.link_token",
        mutated(lambda s: s["LinkTokenGetRequest"].update(required=[])),
    )
    yield (
        "LinkTokenGetResponse.created_at",
        mutated(lambda s: s["LinkTokenGetResponse"]["properties"]["created_at"].pop("nullable")),
    )
    yield (
        "LinkEvent.timestamp",
        mutated(lambda s: s["LinkEvent"]["properties"]["timestamp"].update(format="date-time")),
    )
    yield "Products", mutated(lambda s: s["Products"]["enum"].append("quantum"))
    yield (
        "schema missing from models: Brand",
        mutated(lambda s: s.update(Brand={"type": "object", "properties": {}})),
    )
    yield "schema not in contract: NewUserID", mutated(lambda s: s.pop("NewUserID"))
    yield (
        "LinkTokenTransactions.days_requested",
        mutated(
            lambda s: s["LinkTokenTransactions"]["properties"]["days_requested"].update(maximum=731)
        ),
    )


def test_the_drift_check_catches_each_kind_of_change(spec: dict[str, Any]) -> None:
    for expected, changed in _mutations(spec):
        problems = drift(changed, models)
        # Schema-level problems come first; removing a schema also breaks its users.
        assert problems, expected
        assert problems[0].startswith(expected), (expected, problems)


def test_regenerating_from_the_contract_reproduces_the_committed_files(
    spec_path: Path, tmp_path: Path
) -> None:
    generate_models.generate(spec_path, tmp_path)
    package = ROOT / "plaid_link_async"
    for name in ("models.py", "_schema/_operations.py", "_session/_api.py"):
        committed = (package / name).read_text(encoding="utf-8")
        assert (tmp_path / name).read_text(encoding="utf-8") == committed, (
            f"{name} differs from the generator's output: "
            "run `python scripts/generate_models.py` and commit the result"
        )


@contextlib.contextmanager
def regenerated_package(spec_path: Path, tmp_path: Path, name: str) -> Iterator[Any]:
    """The package copied to `tmp_path` as `name`, regenerated from `spec_path`."""
    target = tmp_path / name
    shutil.copytree(ROOT / "plaid_link_async", target, ignore=shutil.ignore_patterns("__pycache__"))
    generate_models.generate(spec_path, target)
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))
        for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
            del sys.modules[module]


@pytest.fixture
def regenerated(regression_spec_path: Path, tmp_path: Path) -> Iterator[types.ModuleType]:
    """The package copied to a temporary place, regenerated from a regression spec."""
    with regenerated_package(regression_spec_path, tmp_path, "plaid_link_async_regenerated") as p:
        yield p


def test_regenerating_from_the_regression_specs_works_and_their_examples_parse(
    regenerated: types.ModuleType, regression_spec: dict[str, Any]
) -> None:
    models_ = importlib.import_module(f"{regenerated.__name__}.models")
    assert regression_spec["info"]["version"] == models_.SPEC_VERSION
    assert drift(regression_spec, models_) == []
    examples = response_examples(regression_spec)
    assert len(examples) >= 3
    for schema, body in examples:
        parsed = regenerated.from_dict(getattr(models_, schema), body)
        assert parsed.request_id == body["request_id"]
    # Every operation of the spec is a coroutine of the regenerated session.
    operations = importlib.import_module(f"{regenerated.__name__}._schema._operations").ENDPOINTS
    for method in operations:
        assert callable(getattr(regenerated.AsyncLinkSession, method))
        assert callable(getattr(regenerated.RawCalls, method))


def test_every_operation_of_the_contract_is_a_session_coroutine(spec: dict[str, Any]) -> None:
    from plaid_link_async import AsyncLinkSession
    from plaid_link_async._session._session import RawCalls

    methods = {
        generate_models.snake_case(op["operationId"])
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    assert len(methods) == 8
    for method in methods:
        assert inspect.iscoroutinefunction(getattr(AsyncLinkSession, method))
        assert inspect.iscoroutinefunction(getattr(RawCalls, method))
        assert getattr(AsyncLinkSession, method).__doc__


def test_the_generator_refuses_what_it_cannot_map(spec: dict[str, Any], tmp_path: Path) -> None:
    broken = copy.deepcopy(spec)
    broken["components"]["schemas"]["LinkEvent"]["properties"]["class"] = {"type": "string"}
    with pytest.raises(generate_models.SpecError, match=r"LinkEvent\.class"):
        generate_models.Generator(broken).build()


def test_the_next_spec_with_other_unions_and_deprecations_regenerates_and_reads(
    spec: dict[str, Any], tmp_path: Path
) -> None:
    # The general rule, tried on shapes 1.778.0 does not have: a discriminator without a
    # mapping (members tagged by schema name), a oneOf with no discriminator, an anyOf
    # of scalars, a nullable union inline in a property, and a deprecated operation
    # without x-removed-in.
    nextspec = copy.deepcopy(spec)
    schemas = nextspec["components"]["schemas"]
    schemas["CatConfig"] = {
        "type": "object",
        "required": ["kind", "lives"],
        "properties": {"kind": {"type": "string"}, "lives": {"type": "integer"}},
    }
    schemas["DogConfig"] = {
        "type": "object",
        "required": ["kind", "bark"],
        "properties": {"kind": {"type": "string"}, "bark": {"type": "boolean"}},
    }
    schemas["PetByName"] = {
        "oneOf": [{"$ref": _REF + "CatConfig"}, {"$ref": _REF + "DogConfig"}],
        "discriminator": {"propertyName": "kind"},
    }
    schemas["PetByShape"] = {"oneOf": [{"$ref": _REF + "CatConfig"}, {"$ref": _REF + "DogConfig"}]}
    schemas["NumberOrText"] = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    schemas["LinkTokenGetResponse"]["properties"]["pet"] = {
        "nullable": True,
        "oneOf": [{"$ref": _REF + "CatConfig"}, {"$ref": _REF + "DogConfig"}],
        "discriminator": {"propertyName": "kind"},
    }
    nextspec["paths"]["/link/token/get"]["post"]["deprecated"] = True
    path = tmp_path / "next.yml"
    path.write_text(yaml.safe_dump(nextspec), encoding="utf-8")
    name = "plaid_link_async_next"
    with regenerated_package(path, tmp_path, name) as package:
        next_models = importlib.import_module(f"{name}.models")
        assert drift(nextspec, next_models) == []
        from_dict, to_dict = package.from_dict, package.to_dict
        read = importlib.import_module(f"{name}._schema._tolerant_reader").read_tolerantly
        by_name = importlib.import_module(f"{package.__name__}._schema._field_plans").plan_type(
            next_models.PetByName
        )
        assert set(by_name.one_of.mapping) == {"CatConfig", "DogConfig"}
        # Tagged by schema name; untagged by shape; scalars by type.
        cat = {"kind": "CatConfig", "lives": 9}
        body = {**_example("/link/token/get", nextspec), "pet": cat}
        parsed = from_dict(next_models.LinkTokenGetResponse, body)
        assert type(parsed.pet) is next_models.CatConfig
        assert to_dict(parsed)["pet"] == cat
        assert from_dict(next_models.LinkTokenGetResponse, {**body, "pet": None}).pet is None
        shape = importlib.import_module(f"{package.__name__}._schema._field_plans").plan_type(
            next_models.PetByShape
        )
        dog = {"kind": "whatever", "bark": True}
        assert read_member(read, next_models, shape, dog) == next_models.DogConfig(
            kind="whatever", bark=True
        )
        scalar = importlib.import_module(f"{package.__name__}._schema._field_plans").plan_type(
            next_models.NumberOrText
        )
        assert [v.kind.value for v in scalar.variants] == ["int", "str"]
        assert not scalar.keeps_unknown
        # The deprecated call warns, with no release to name.
        api = importlib.import_module(f"{name}._schema._operations").DEPRECATED
        assert api["link_token_get"].startswith("link_token_get is deprecated: Plaid removed")
        assert "see Plaid's API changelog" in api["link_token_get"]


def _example(path: str, spec: dict[str, Any]) -> dict[str, Any]:
    content = spec["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]
    value: dict[str, Any] = next(iter(content["examples"].values()))["value"]
    return dict(value)


def read_member(read: Any, models_: Any, plan: Any, value: dict[str, Any]) -> Any:
    """A union member as the regenerated tolerant reader reads one, with no drift."""
    tolerant = importlib.import_module(read.__module__)
    reading = tolerant._Reading(None)
    found = tolerant._value(plan, value, "", "pet", reading)
    assert reading.count == 0
    return found
