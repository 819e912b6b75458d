"""pydantic-core as the resolver uses it: the compiled validator, and the schemas it reads.

The table validates with pydantic-core's ``SchemaValidator`` directly. Importing the package
``pydantic_core`` costs a process about 18 ms, nearly all of it ``pydantic_core.core_schema`` (a
5,000-line module of TypedDicts and schema helpers) and what that imports (``typing_extensions``,
``decimal``, ``fractions``). The validator itself is the compiled ``pydantic_core._pydantic_core``,
about 1 ms to load, and every task that ``import metaflow`` starts pays the difference. So
:func:`validator_types` loads the compiled module alone while the package is not imported, and
the helpers below build the schemas ``core_schema``'s functions build (pydantic-core's
documented schema format: plain dicts), for the schema types the kinds use, with the same names
and arguments.

Nothing else changes for the process. The compiled module is not entered in ``sys.modules``: a
later ``import pydantic_core`` (pydantic, a section, the user's own code) imports the package as
usual, and its ``SchemaValidator`` and ``ValidationError`` are the very classes given here (the
compiled module's types are static: one per process). Where the compiled module cannot be found
or loaded alone, the package is imported as usual.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic_core import SchemaValidator, ValidationError

__all__ = [
    "any_schema",
    "chain_schema",
    "definition_reference_schema",
    "definitions_schema",
    "dict_schema",
    "int_schema",
    "list_schema",
    "literal_schema",
    "no_info_after_validator_function",
    "no_info_before_validator_function",
    "no_info_plain_validator_function",
    "no_info_wrap_validator_function",
    "nullable_schema",
    "str_schema",
    "typed_dict_field",
    "typed_dict_schema",
    "validator_types",
]

_PACKAGE = "pydantic_core"
_COMPILED = "pydantic_core._pydantic_core"


def validator_types() -> tuple[type[SchemaValidator], type[ValidationError]]:
    """pydantic-core's ``SchemaValidator`` and ``ValidationError`` (the compiled module's)."""
    module = _compiled()
    return module.SchemaValidator, module.ValidationError


@functools.cache
def _compiled() -> ModuleType:
    imported = sys.modules.get(_COMPILED)
    if imported is not None:  # by the package (or by whoever imported it as such): that one
        return imported
    if _PACKAGE not in sys.modules:
        alone = _load_alone()
        if alone is not None:
            return alone
    import pydantic_core._pydantic_core as compiled  # the package, imported as usual

    return compiled


def _load_alone() -> ModuleType | None:
    """The compiled module, loaded without running the package's ``__init__`` (or ``None``)."""
    import importlib.machinery
    import importlib.util

    try:
        package = importlib.util.find_spec(_PACKAGE)  # finds it: imports nothing
        where = None if package is None else package.submodule_search_locations
        spec = importlib.machinery.PathFinder.find_spec(_COMPILED, where) if where else None
        if spec is None or not isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
            return None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except (ImportError, OSError, ValueError):  # as an import would say it: the package's turn
        return None
    if sys.modules.get(_COMPILED) is module:  # CPython 3.9 enters extension modules itself
        del sys.modules[_COMPILED]  # the package's import enters (and binds) it as its own
    if not hasattr(module, "SchemaValidator"):
        return None
    return module


def _schema(kind: str, **keys: Any) -> Any:
    """A schema of type ``kind`` with the keys given (``None``: left out, as core_schema does)."""
    return {"type": kind, **{key: value for key, value in keys.items() if value is not None}}


def str_schema(
    *, pattern: str | None = None, max_length: int | None = None, ref: str | None = None
) -> Any:
    """``core_schema.str_schema``: a string, matching ``pattern``, at most ``max_length`` long."""
    return _schema("str", pattern=pattern, max_length=max_length, ref=ref)


def int_schema(*, ge: int | None = None, le: int | None = None, strict: bool | None = None) -> Any:
    """``core_schema.int_schema``: an integer from ``ge`` to ``le`` (``strict``: JSON's only)."""
    return _schema("int", ge=ge, le=le, strict=strict)


def nullable_schema(schema: Any) -> Any:
    """``core_schema.nullable_schema``: ``None``, or what ``schema`` takes."""
    return _schema("nullable", schema=schema)


def any_schema() -> Any:
    """``core_schema.any_schema``: any value, as it is."""
    return _schema("any")


def literal_schema(expected: list[Any]) -> Any:
    """``core_schema.literal_schema``: one of ``expected``."""
    return _schema("literal", expected=expected)


def chain_schema(steps: list[Any]) -> Any:
    """``core_schema.chain_schema``: each schema of ``steps`` validates what the previous gave."""
    return _schema("chain", steps=steps)


def dict_schema(keys_schema: Any = None, values_schema: Any = None) -> Any:
    """``core_schema.dict_schema``: a dict of those keys and values."""
    return _schema("dict", keys_schema=keys_schema, values_schema=values_schema)


def list_schema(items_schema: Any = None) -> Any:
    """``core_schema.list_schema``: a list of those items."""
    return _schema("list", items_schema=items_schema)


def typed_dict_field(schema: Any, *, required: bool | None = None) -> Any:
    """``core_schema.typed_dict_field``: one field of a :func:`typed_dict_schema`."""
    return _schema("typed-dict-field", schema=schema, required=required)


def typed_dict_schema(
    fields: dict[str, Any], *, total: bool | None = None, extra_behavior: str | None = None
) -> Any:
    """``core_schema.typed_dict_schema``: a dict of those fields."""
    return _schema("typed-dict", fields=fields, extra_behavior=extra_behavior, total=total)


def definitions_schema(schema: Any, definitions: Sequence[Any]) -> Any:
    """``core_schema.definitions_schema``: ``schema``, which may refer to ``definitions``."""
    return {"type": "definitions", "schema": schema, "definitions": definitions}


def definition_reference_schema(schema_ref: str) -> Any:
    """``core_schema.definition_reference_schema``: the definition named ``schema_ref``."""
    return _schema("definition-ref", schema_ref=schema_ref)


def _function(kind: str, function: Callable[..., Any], schema: Any = None) -> Any:
    return _schema(kind, function={"type": "no-info", "function": function}, schema=schema)


def no_info_before_validator_function(function: Callable[[Any], Any], schema: Any) -> Any:
    """``core_schema.no_info_before_validator_function``: ``function``, then ``schema``."""
    return _function("function-before", function, schema)


def no_info_after_validator_function(function: Callable[[Any], Any], schema: Any) -> Any:
    """``core_schema.no_info_after_validator_function``: ``schema``, then ``function``."""
    return _function("function-after", function, schema)


def no_info_wrap_validator_function(
    function: Callable[[Any, Callable[[Any], Any]], Any], schema: Any
) -> Any:
    """``core_schema.no_info_wrap_validator_function``: ``function(value, handler)``.

    ``handler`` validates by ``schema``; ``function`` may return without calling it.
    """
    return _function("function-wrap", function, schema)


def no_info_plain_validator_function(function: Callable[[Any], Any]) -> Any:
    """``core_schema.no_info_plain_validator_function``: ``function`` alone validates."""
    return _function("function-plain", function)
