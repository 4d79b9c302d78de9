"""The one cattrs converter between models and JSON-ready dicts.

`_structuring` and `_unstructuring` register its hooks for every model; import the
converter through `_converter`, which loads both.
"""

from __future__ import annotations

from typing import Final

import cattrs

converter: Final = cattrs.Converter()
