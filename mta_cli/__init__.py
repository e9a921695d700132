"""The `mta` command line: thin typer commands over mta_probe and mta_train."""
