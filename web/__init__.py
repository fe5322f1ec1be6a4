"""HTTP surfaces over ``search``: the JSON API (api.py), the HTML pages (html.py), the
helpers both share (common.py), the Atom feed, the OpenAPI document and the waitress setup."""
