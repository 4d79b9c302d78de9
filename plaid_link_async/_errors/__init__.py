"""Everything the library raises: the root error and its one-line text, and the tree below it."""
