"""HTTP surfaces over ``search``: the JSON API blueprint and a placeholder HTML blueprint."""
