"""`python -m plaid_link_async`: the same as the `plaid-link` command."""

import sys

from ._cli._main import main

sys.exit(main())
