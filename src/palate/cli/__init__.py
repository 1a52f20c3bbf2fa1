"""The ``palate`` command line: thin typer commands over the packages."""
