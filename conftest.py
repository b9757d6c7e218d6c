"""Registers the conformance plugin: scenario files under conformance/scenarios are test items."""

pytest_plugins = ["conformance.plugin"]
