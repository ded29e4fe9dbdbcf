"""Dagster integration: the governance resource, asset-check helpers, sensor
factories and receipt metadata. The core never imports this package.
"""
