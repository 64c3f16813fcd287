"""The output formats, named here so that config checking and the output sink agree."""

FORMATS = ("table", "json", "ndjson", "tsv")
