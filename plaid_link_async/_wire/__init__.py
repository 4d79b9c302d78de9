"""JSON, dates and the bounds and masks of untrusted text: what every room below the models uses."""
