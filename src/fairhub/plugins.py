"""The plugin host: find, order and register plugins, and check what they declare."""
from __future__ import annotations

import importlib
import logging
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable

import pluggy

from fairhub import hookspecs
from fairhub.permissions import Permission

ENTRY_POINT_GROUP = "fairhub"
CORE_PLUGIN = "core"

log = logging.getLogger("fairhub.plugins")


def call_each(hook: Any, role: str, occasion: str, **kwargs: Any) -> list:
    """The answers (None left out) of every implementation of ``hook``, called in pluggy's
    order, each with the arguments it takes; one that raises is logged ("``role`` <plugin>
    failed on ``occasion``") and left out, and the others still run."""
    answers = []
    for impl in reversed(hook.get_hookimpls()):
        try:
            answer = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        except Exception:
            log.exception("%s %s failed on %s", role, impl.plugin_name, occasion)
            continue
        if answer is not None:
            answers.append(answer)
    return answers


class PluginError(RuntimeError):
    """A plugin cannot be loaded, or two plugins declare the same thing."""


@dataclass
class Host:
    """Per-app plugin state, kept in ``app.extensions["fairhub"]``."""

    pm: pluggy.PluginManager
    api: Any
    permissions: dict[str, Permission] = field(default_factory=dict)
    permission_owners: dict[str, str] = field(default_factory=dict)
    role_cache: dict[str, frozenset[str]] = field(default_factory=dict)
    route_permissions: dict[tuple, tuple[str, ...] | None] = field(default_factory=dict)
    session_serializer: Any = None

    def plugin_names(self) -> list[str]:
        """Enabled plugins, in the order their hooks run."""
        return [name for name, _ in reversed(self.pm.list_name_plugin())]


def installed_plugins() -> dict[str, Any]:
    """The ``fairhub`` entry points installed, by name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _load(spec: Any, installed: dict[str, Any]) -> tuple[str, Any]:
    if not isinstance(spec, str):
        name = getattr(spec, "FAIRHUB_PLUGIN_NAME", None) or getattr(spec, "__name__", None)
        return (name or type(spec).__name__), spec
    if spec in installed:
        return spec, installed[spec].load()
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name.split(".")[0] or "." in spec or ":" in spec:
            raise PluginError(f"Plugin {spec!r} cannot be imported: {exc}.") from exc
        known = ", ".join(sorted(installed)) or "none"
        raise PluginError(
            f"Plugin {spec!r} is not installed; installed plugins: {known}."
        ) from exc
    plugin = getattr(module, attr) if attr else module
    return getattr(plugin, "FAIRHUB_PLUGIN_NAME", spec), plugin


def build_plugin_manager(specs: Iterable[Any] | None, core: ModuleType) -> pluggy.PluginManager:
    """Register the core, then ``specs`` (None: every installed plugin) so earlier ones run first.

    pluggy calls the most recently registered implementation first, so the list is
    registered in reverse; the core, registered first, runs last.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(core, name=CORE_PLUGIN)
    installed = installed_plugins()
    loaded = [_load(spec, installed) for spec in (installed if specs is None else specs)]
    seen: set[str] = set()
    for name, _plugin in loaded:
        if name in seen or name == CORE_PLUGIN:
            raise PluginError(f"Plugin {name!r} is enabled twice.")
        seen.add(name)
    for name, plugin in reversed(loaded):
        pm.register(plugin, name=name)
    pm.check_pending()
    return pm


def plugin_root(plugin: Any) -> Path:
    """The folder of the package a plugin (a module or an object) lives in."""
    module_name = plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__module__
    module = sys.modules[module_name]
    package = sys.modules.get(module.__package__ or module_name, module)
    return Path(package.__file__).parent


def _each(pm: pluggy.PluginManager, hook_name: str):
    """Yield ``(plugin name, result)`` for each implementation of a no-argument hook."""
    for impl in reversed(getattr(pm.hook, hook_name).get_hookimpls()):
        result = impl.function()
        if result is not None:
            yield impl.plugin_name, result


def collect_config(pm: pluggy.PluginManager, config: dict, core_keys: Iterable[str]) -> None:
    """Apply each plugin's config defaults with setdefault; a key declared twice is an error."""
    owners = {key: CORE_PLUGIN for key in core_keys}
    for plugin_name, defaults in _each(pm, "fairhub_config_defaults"):
        for key, value in defaults.items():
            if key in owners:
                raise PluginError(
                    f"Config key {key!r} of plugin {plugin_name!r} is already declared "
                    f"by plugin {owners[key]!r}."
                )
            owners[key] = plugin_name
            config.setdefault(key, value)


def collect_permissions(pm: pluggy.PluginManager, host: Host) -> None:
    """Gather every plugin's permissions into the host; a name declared twice is an error."""
    for plugin_name, permissions in _each(pm, "fairhub_permissions"):
        for permission in permissions:
            owner = host.permission_owners.get(permission.name)
            if owner is not None:
                raise PluginError(
                    f"Permission {permission.name!r} of plugin {plugin_name!r} is already "
                    f"declared by plugin {owner!r}."
                )
            host.permissions[permission.name] = permission
            host.permission_owners[permission.name] = plugin_name


def collect_blueprints(pm: pluggy.PluginManager) -> list[tuple[str, Any]]:
    """Every plugin's blueprints as ``(plugin name, blueprint)``; a name used twice is an error."""
    owners: dict[str, str] = {}
    found = []
    for plugin_name, blueprints in _each(pm, "fairhub_blueprints"):
        for blueprint in blueprints:
            if blueprint.name in owners:
                raise PluginError(
                    f"Blueprint {blueprint.name!r} of plugin {plugin_name!r} is already "
                    f"registered by plugin {owners[blueprint.name]!r}."
                )
            owners[blueprint.name] = plugin_name
            found.append((plugin_name, blueprint))
    return found



def hooks_of(pm: pluggy.PluginManager, plugin: Any) -> list[str]:
    """Names of the hooks ``plugin`` implements."""
    return sorted(caller.name for caller in (pm.get_hookcallers(plugin) or []))
