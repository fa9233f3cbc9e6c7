"""`load_settings`: a config file that cannot be used is a ConfigError naming the file, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from dealerpolicy.config import load_settings
from dealerpolicy.errors import ConfigError


def test_the_example_config_loads():
    settings = load_settings(Path(__file__).resolve().parents[2] / "config.example.yaml")
    assert (settings.language, settings.server.workers) == ("zh", 2)


@pytest.mark.parametrize("content, code, needle", [
    ("rules_dir: 规则\n".encode("gb18030"), "config.invalid", "not UTF-8 text"),
    (b"rules_dir: [unclosed\n", "config.invalid", "not valid YAML"),
    (b"language: fr\n", "config.invalid", "language"),
])
def test_a_bad_config_file_is_a_config_error(tmp_path: Path, content: bytes, code: str, needle: str):
    path = tmp_path / "config.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    [d] = exc.value.diagnostics
    assert d.code == code and needle in d.message


def test_a_missing_config_file_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError) as exc:
        load_settings(tmp_path / "nope.yaml")
    assert exc.value.diagnostics[0].code == "config.unreadable"


def test_a_misspelt_key_is_named_with_the_key_it_resembles_in_its_section(tmp_path: Path):
    path = tmp_path / "config.yaml"
    path.write_text("databse_url: sqlite:///x.db\nserver:\n  prot: 9000\n"
                    "  tokens:\n    - {name: a, token: aaaaaaaaaaaaaaaa, roles: [check], rolse: [audit]}\nzzz: 1\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    found = {d.message.split(":")[0]: d.hint for d in exc.value.diagnostics}
    assert found == {"databse_url": 'did you mean "database_url"?', "server.prot": 'did you mean "port"?',
                     "server.tokens.0.rolse": 'did you mean "roles"?',
                     "zzz": "keys here: rules_dir, database_url, language, masked_fields, server"}
