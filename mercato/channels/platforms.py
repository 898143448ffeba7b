"""Each kind's spec and mapping modules, looked up by name."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType


def spec(kind: str) -> ModuleType:
    return import_module(f"mercato.channels.{kind}.spec")


def mapping(kind: str) -> ModuleType:
    return import_module(f"mercato.channels.{kind}.mapping")
