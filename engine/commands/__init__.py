"""Command families, one module each. Importing this package registers them all:
every module here declares its handlers with `engine.registry.command`."""
import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
