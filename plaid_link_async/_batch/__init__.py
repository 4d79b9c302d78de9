"""Many `link_token_create` calls at once, with bounded memory and adaptive concurrency."""
