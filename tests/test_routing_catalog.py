"""The model catalog: offline by default, strict validation, real providers by configuration only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from governed_agents.envelope import find_envelope
from governed_agents.routing import CatalogError, load_catalog, load_catalog_text

from tests.fixtures import REPO


def test_the_default_catalog_resolves_every_envelope_tier_to_the_offline_stand_in():
    catalog = load_catalog(REPO / "policies" / "models.yaml")
    models = find_envelope("invoice_reconcile").envelope.models
    resolved = {tier: catalog.resolve(getattr(models, tier)) for tier in ("router", "reasoning", "fallback")}
    assert {tier: m.model for tier, m in resolved.items()} == {
        "router": "offline/small-fast", "reasoning": "offline/frontier", "fallback": "offline/safe-medium"}
    assert all(m.offline for m in resolved.values())
    prices = [m.input_usd_per_1k + m.output_usd_per_1k for m in
              (resolved["router"], resolved["fallback"], resolved["reasoning"])]
    assert prices == sorted(prices) and len(set(prices)) == 3  # the ladder steps down by price
    assert resolved["router"].cost(1000, 1000) == Decimal("0.00075")


def test_the_configured_catalog_comes_from_the_policy_dir_or_the_env(tmp_path, monkeypatch):
    assert load_catalog().source.endswith("policies/models.yaml")
    other = tmp_path / "models.yaml"
    other.write_text("models:\n  small-fast:\n    model: offline/small-fast\n"
                     "    input_usd_per_1k: 0\n    output_usd_per_1k: 0\n")
    monkeypatch.setenv("GOVERNED_AGENTS_MODEL_CATALOG", str(other))
    assert load_catalog().source == str(other)


def test_errors_name_the_file_line_and_field():
    text = (
        "version: 1\n"
        "models:\n"
        "  small-fast:\n"
        "    model: gpt-4o\n"
        "    input_usd_per_1k: -1\n"
        "    output_usd_per_1k: true\n"
        "    api_key_env: openai-key\n"
        "    colour: blue\n"
        "  frontier:\n"
        "    input_usd_per_1k: 0.01\n"
        "    output_usd_per_1k: 0.03\n"
    )
    with pytest.raises(CatalogError) as info:
        load_catalog_text(text, "policies/models.yaml")
    lines = str(info.value).splitlines()
    assert lines[0].startswith("policies/models.yaml:4:5: models.small-fast.model: 'gpt-4o' is not a litellm model")
    assert "policies/models.yaml:5:5: models.small-fast.input_usd_per_1k: Input should be greater than or equal to 0" \
        in lines
    assert "policies/models.yaml:6:5: models.small-fast.output_usd_per_1k: a boolean (true/false) is not a number" \
        in lines
    assert any(line.startswith("policies/models.yaml:7:5: models.small-fast.api_key_env: 'openai-key' is not an "
                               "environment variable name") for line in lines)
    assert "policies/models.yaml:8:5: models.small-fast.colour: unknown key" in lines
    assert any(line.startswith("policies/models.yaml:9:3: models.frontier.model: required field is missing")
               for line in lines)


def test_yaml_tricks_and_missing_files_are_refused(tmp_path):
    with pytest.raises(CatalogError, match="duplicate key"):
        load_catalog_text("models:\n  a:\n    model: offline/a\n  a:\n    model: offline/b\n", "m.yaml")
    with pytest.raises(CatalogError, match="no model catalog here"):
        load_catalog(tmp_path / "nope.yaml")


def test_an_unknown_alias_names_the_catalog():
    catalog = load_catalog(REPO / "policies" / "models.yaml")
    with pytest.raises(CatalogError, match=r"models\.gpt-5: no such model alias in the catalog"):
        catalog.resolve("gpt-5")


def test_switching_a_tier_to_a_real_provider_is_configuration(monkeypatch):
    catalog = load_catalog_text(
        "models:\n"
        "  frontier:\n"
        "    model: azure/my-gpt4o-deployment\n"
        "    api_base_env: AZURE_API_BASE\n"
        "    api_key_env: AZURE_API_KEY\n"
        "    params: {api_version: '2024-10-21'}\n"
        "    input_usd_per_1k: 0.0025\n"
        "    output_usd_per_1k: 0.01\n"
        "  small-fast:\n"
        "    model: ollama/llama3.1\n"
        "    api_base: http://127.0.0.1:11434\n"
        "    input_usd_per_1k: 0\n"
        "    output_usd_per_1k: 0\n",
        "models.yaml",
    )
    monkeypatch.setenv("AZURE_API_BASE", "https://example.openai.azure.com")
    monkeypatch.setenv("AZURE_API_KEY", "k-123")
    frontier = catalog.resolve("frontier")
    assert not frontier.offline
    assert frontier.litellm_kwargs() == {"api_version": "2024-10-21", "api_base": "https://example.openai.azure.com",
                                         "api_key": "k-123"}
    assert catalog.resolve("small-fast").litellm_kwargs() == {"api_base": "http://127.0.0.1:11434"}
    monkeypatch.delenv("AZURE_API_KEY")
    with pytest.raises(CatalogError, match=r"needs an API key in \$AZURE_API_KEY"):
        frontier.litellm_kwargs()
