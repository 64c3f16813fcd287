"""follow layer."""
