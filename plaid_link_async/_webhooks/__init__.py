"""Link webhooks: parsed into their models, and verified as Plaid signs them."""
