"""One module per command: an options object in, an exit code out. No Typer here."""
