"""config.yaml → settings (pydantic), with DEALERPOLICY_DATABASE_URL overriding the database URL."""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dealerpolicy.errors import ConfigError, Diagnostic

DEFAULT_DB = "sqlite:///dealerpolicy.db"


class Token(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    token: str = Field(min_length=16, description="bearer token (at least 16 characters)")
    roles: list[Literal["check", "audit", "admin"]]


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    max_body_bytes: int = 1_000_000
    max_batch: int = 1000
    fail_open: bool = False
    watch_rules: bool = False
    tokens: list[Token] = Field(default_factory=list)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules_dir: str = "rules"
    database_url: str = DEFAULT_DB
    language: Literal["zh", "en"] = "zh"
    masked_fields: list[str] = Field(default_factory=list)
    server: ServerSettings = Field(default_factory=ServerSettings)


# The settings model of each section, by the section's key (a token's keys under server.tokens.N).
_SECTIONS: dict[str, type[BaseModel]] = {"server": ServerSettings, "tokens": Token}


def _key_hint(error: dict) -> str | None:
    """`did you mean "database_url"?` for a misspelt key (`databse_url`), from the keys of its section."""
    if error.get("type") != "extra_forbidden":
        return None
    model: type[BaseModel] = Settings
    for step in error["loc"][:-1]:
        model = _SECTIONS.get(step, model) if isinstance(step, str) else model
    guess = difflib.get_close_matches(str(error["loc"][-1]), list(model.model_fields), n=1)
    return f'did you mean "{guess[0]}"?' if guess else "keys here: " + ", ".join(model.model_fields)


def load_settings(path: str | Path | None = None, database_url: str | None = None) -> Settings:
    """Read a config file (optional); --db / DEALERPOLICY_DATABASE_URL override its database URL."""
    data: dict = {}
    if path is not None:
        p = Path(path)
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ConfigError(Diagnostic("config.unreadable", f"{p}: {exc.strerror}")) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(Diagnostic("config.invalid", f"{p}: not UTF-8 text ({exc.reason})",
                                         hint="save the file as UTF-8")) from None
        except yaml.YAMLError as exc:
            raise ConfigError(Diagnostic("config.invalid", f"{p}: not valid YAML ({exc})")) from None
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        diags = [Diagnostic("config.invalid", f"{'.'.join(map(str, e['loc']))}: {e['msg']}",
                            field_path=str(path), hint=_key_hint(e)) for e in exc.errors()]
        raise ConfigError(diags) from None
    url = database_url or os.environ.get("DEALERPOLICY_DATABASE_URL")
    if url:
        settings.database_url = url
    return settings
