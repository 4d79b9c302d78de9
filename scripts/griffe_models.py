"""A griffe extension for the models reference (`mkdocs.yml` loads it by path).

Griffe reads source, so a field written `x: int | None = attrs.field(default=None,
metadata={...})` would show the whole `attrs.field(...)` call as its value and carry
griffe's `class-attribute` label. A reader wants the default and whether the field is
required, so this shows `= None` (or no value for a required field) and labels each
field `required` or `optional`.
"""

from __future__ import annotations

from typing import Any

import griffe

MODELS = "plaid_link_async.models"


class ModelFields(griffe.Extension):
    def on_attribute_instance(self, *, attr: griffe.Attribute, **kwargs: Any) -> None:
        parent = attr.parent
        if parent is None or not parent.is_class or attr.module.path != MODELS:
            return
        value = attr.value
        if isinstance(value, griffe.ExprCall) and str(value.function) == "attrs.field":
            attr.value = next(
                (
                    argument.value
                    for argument in value.arguments
                    if isinstance(argument, griffe.ExprKeyword) and argument.name == "default"
                ),
                None,
            )
        attr.labels -= {"class-attribute", "instance-attribute"}
        attr.labels.add("required" if attr.value is None else "optional")
