"""arm layer."""
