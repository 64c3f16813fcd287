"""Reliability suites: chaos, bad input, bad server data, security, signals, properties."""
