"""Search core: request -> query -> ranked, highlighted, filtered, faceted response.

Nothing here imports Flask: the JSON API, the HTML pages and the Atom feed all render
the one response object this package returns.
"""
