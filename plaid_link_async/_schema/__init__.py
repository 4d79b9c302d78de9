"""The contract in Python: the models' base, their field plans, the cattrs converter, the
tolerant reader, the request rules and the operation table."""
