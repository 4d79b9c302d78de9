"""`plaid-link`: the command line, its journals and its input files."""
