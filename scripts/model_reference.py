"""Write the models reference as pages a reader can use: the Link flow first.

    python scripts/model_reference.py           # rewrite docs/reference/models/ and the nav
    python scripts/model_reference.py --check   # exit 1 if they are not current

One page per operation, in the order of the Link flow, with its request, its response
and every class and enum they reach that no earlier page shows; then the webhooks;
then the rest of the contract's classes (Consumer Report and the like), its enums and
its type aliases. The pages and the `nav` block of mkdocs.yml between its markers are
derived from the generated models, so they are regenerated with them.
"""

from __future__ import annotations

import argparse
import collections
import enum
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plaid_link_async import Model, models  # noqa: E402
from plaid_link_async._schema._field_plans import Kind, TypePlan, plan_model  # noqa: E402
from plaid_link_async._schema._operations import ENDPOINTS, WEBHOOKS  # noqa: E402

PAGES = ROOT / "docs" / "reference" / "models"
MKDOCS = ROOT / "mkdocs.yml"
NAV_BEGIN = "      # models reference pages: written by scripts/model_reference.py\n"
NAV_END = "      # end of models reference pages\n"
#: The Link flow's order; an operation of a newer contract comes after these.
FLOW = [
    "link_token_create",
    "link_token_get",
    "item_public_token_exchange",
    "webhook_verification_key_get",
    "link_oauth_correlation_id_exchange",
    "link_profile_eligibility_check",
    "link_delivery_create",
    "link_delivery_get",
]
#: How many fields below an operation's request and answer its page reaches.
FLOW_DEPTH = 2
OPTIONS = """    options:
      show_root_heading: true
      show_signature: false
      show_if_no_docstring: true
      group_by_category: false
      # Enum members whose value starts with a digit begin with `_` (`_401K`).
      filters: ["!^__"]
      heading_level: 2
"""
HEADER = "<!-- Written by scripts/model_reference.py from the generated models: do not edit. -->\n"


def reachable(names: Iterable[str], depth: int | None = None) -> Iterator[str]:
    """`names`, then every class and enum their fields reach, breadth first, each once,
    at most `depth` fields away: what a reader meets first stays near the top."""
    queue = collections.deque((name, 0) for name in names)
    seen: set[str] = set()
    while queue:
        name, level = queue.popleft()
        if name in seen:
            continue
        seen.add(name)
        yield name
        obj = getattr(models, name)
        if isinstance(obj, type) and issubclass(obj, Model) and (depth is None or level < depth):
            queue.extend(
                (inner, level + 1) for field in plan_model(obj) for inner in _named(field.type)
            )


def _named(plan: TypePlan) -> Iterator[str]:
    if plan.kind == Kind.MODEL and plan.model is not None:
        yield plan.model.__name__
    elif plan.kind == Kind.ENUM and plan.enum is not None:
        yield plan.enum.__name__
    elif plan.kind == Kind.LIST and plan.item is not None:
        yield from _named(plan.item)


def pages() -> dict[str, tuple[str, str, list[str]]]:
    """File stem to (title, introduction, object names), in reading order."""
    placed: set[str] = set()
    result: dict[str, tuple[str, str, list[str]]] = {}

    def take(names: Iterable[str], depth: int | None = None) -> list[str]:
        fresh = [name for name in reachable(names, depth) if name not in placed]
        placed.update(fresh)
        return fresh

    order = [name for name in FLOW if name in ENDPOINTS]
    order += sorted(set(ENDPOINTS) - set(order))
    for operation in order:
        endpoint = ENDPOINTS[operation]
        intro = (
            f"`{operation}` (`POST {endpoint.path}`): its request, its answer, and the "
            f"classes and enums up to {FLOW_DEPTH} fields below them that no earlier page "
            "shows; what lies deeper (one product's options) is under Other classes."
        )
        result[operation] = (
            operation,
            intro,
            take([endpoint.request, endpoint.response], FLOW_DEPTH),
        )
    webhooks = sorted(set(WEBHOOKS.values()))
    result["webhooks"] = (
        "Webhooks",
        "The webhooks `parse_webhook` and `verify_webhook` return, and what they use.",
        take(webhooks, FLOW_DEPTH),
    )
    rest = [name for name in models.__all__ if name not in placed]
    classes = [n for n in rest if _is(n, Model)]
    enums = [n for n in rest if _is(n, enum.Enum)]
    aliases = [n for n in rest if n not in classes and n not in enums]
    result["other"] = (
        "Other classes",
        "The contract's other classes, sorted by name: options and results of single "
        "products (Consumer Report, income, transfers and the like), which the pages "
        "before reach only deep down.",
        take(sorted(classes)),
    )
    result["enums"] = ("Other enums", "The contract's other enums.", take(sorted(enums)))
    result["aliases"] = ("Type aliases", "The contract's named scalar types.", sorted(aliases))
    return {stem: page for stem, page in result.items() if page[2]}


def _is(name: str, base: type) -> bool:
    obj = getattr(models, name)
    return isinstance(obj, type) and issubclass(obj, base)


def render() -> dict[Path, str]:
    """Every file this script writes, with its content."""
    written = pages()
    index = [
        HEADER,
        "# Models\n\n",
        "Generated from Plaid's OpenAPI contract; see [models](../../models.md) for the\n",
        "rules. One page per operation, in the order of the Link flow, each with its\n",
        "request, its answer and what they use; then the webhooks, then the rest.\n",
        "Every class lists its fields, required ones first (those without a default);\n",
        "every enum its members.\n\n",
    ]
    files: dict[Path, str] = {}
    for stem, (title, intro, names) in written.items():
        index.append(f"- [{title}]({stem}.md): {len(names)} entries\n")
        body = [HEADER, f"# {title}\n\n{intro}\n"]
        body += [f"\n::: plaid_link_async.models.{name}\n{OPTIONS}" for name in names]
        files[PAGES / f"{stem}.md"] = "".join(body)
    files[PAGES / "index.md"] = "".join(index)
    nav = [NAV_BEGIN, "      - Models:\n", "          - reference/models/index.md\n"]
    nav += [
        f"          - {title}: reference/models/{stem}.md\n"
        for stem, (title, _, _) in written.items()
    ]
    nav.append(NAV_END)
    text = MKDOCS.read_text(encoding="utf-8")
    start, end = text.index(NAV_BEGIN), text.index(NAV_END) + len(NAV_END)
    files[MKDOCS] = text[:start] + "".join(nav) + text[end:]
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    args = parser.parse_args(argv)
    files = render()
    stale = [path for path, text in files.items() if not _same(path, text)]
    extra = [p for p in PAGES.glob("*.md") if p not in files] if PAGES.is_dir() else []
    if args.check:
        for path in [*stale, *extra]:
            print(f"not current: {path.relative_to(ROOT)}", file=sys.stderr)
        return 1 if stale or extra else 0
    PAGES.mkdir(parents=True, exist_ok=True)
    for path in extra:
        path.unlink()
    for path in stale:
        path.write_text(files[path], encoding="utf-8")
    return 0


def _same(path: Path, text: str) -> bool:
    return path.is_file() and path.read_text(encoding="utf-8") == text


if __name__ == "__main__":
    sys.exit(main())
