"""A bank as the manifest records it: frozen records, and the one check of a manifest entry.

A sort builds a :class:`Bank`; :meth:`Bank.to_dict` is its entry in ``tidalsort.yaml`` (keys in
the order of the fields below, which is the order the manifest has always had), and
:meth:`Bank.from_dict` reads an entry back, refusing anything the readers could trip on (wrong
types, numbers that are NaN, infinite or out of range, oversized texts and lists, references to
samples or clusters the entry does not have) with a one-line :class:`~tidalsort.errors.ManifestError`
naming the field and its index. Entries of format version 1 (before families) are read: their
family fields are None. Keys this tidalsort does not know are kept in :attr:`Bank.extra` when
they hold small plain data (:func:`small_plain`), and left out inside the records.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from ..choices import FEATURE_SETS, GROUPS, LAYOUTS, LINKS, METHODS, ORDERS, SCALINGS, STRATEGIES
from ..errors import ManifestError
from ..families.taxonomy import FAMILIES
from .names import BANK_NAME

#: Most samples (and list items) one entry may hold: ten times the 100,000 files the README's
#: largest measured sort holds.
MAX_SAMPLES = 1_000_000
#: Longest text: a path of PATH_MAX (4,096) bytes, each written as ``\xNN`` if it is not UTF-8, and some.
MAX_TEXT = 20_000
#: The largest value of a key tidalsort does not know that is kept (as JSON); larger ones,
#: and ones that are not plain data, are dropped when the manifest is read.
MAX_UNKNOWN_BYTES = 64 << 10
#: A file or folder name with no path in it, not hidden.
PLAIN_NAME = re.compile(r"[^./\x00][^/\x00]*")


def small_plain(value: Any) -> bool:
    """Whether ``value`` is plain data (what JSON holds) of at most :data:`MAX_UNKNOWN_BYTES`."""
    try:
        return len(json.dumps(value, allow_nan=False)) <= MAX_UNKNOWN_BYTES
    except (TypeError, ValueError, RecursionError):
        return False


class _Bad(Exception):
    """What is wrong with a value (``problem``) and where, innermost last (``path``)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem: str = problem
        self.path: list[str] = []

    def at(self, step: str) -> _Bad:
        self.path.insert(0, step)
        return self

    def __str__(self) -> str:
        place = "".join(step if step.startswith("[") or i == 0 else f": {step}" for i, step in enumerate(self.path))
        return f"{place} {self.problem}" if place else f"the entry {self.problem}"


@dataclass(frozen=True)
class Rule:
    """How a field is read: values that pass ``test`` are kept as they are, others are refused
    with ``says``; or ``read`` does both (lists, records, choices), raising :class:`_Bad`."""

    test: Callable[[Any], bool] | None = None
    says: str = ""
    read: Callable[[Any], Any] | None = None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _read(rule: Rule, value: Any) -> Any:
    """``value`` as the record holds it, if ``rule`` takes it, else raise :class:`_Bad`."""
    if rule.read is not None:
        return rule.read(value)
    if rule.test is None or not rule.test(value):
        raise _Bad(rule.says)
    return value


def _whole(low: int = 0, high: int = MAX_SAMPLES) -> Rule:
    return Rule(lambda v: type(v) is int and low <= v <= high, f"is not a whole number from {low} to {high:,}")  # bool is not one


def _number(low: float, high: float) -> Rule:
    return Rule(lambda v: type(v) in (int, float) and math.isfinite(v) and low <= v <= high, f"is not a number from {low} to {high:,}")


def _one_of(choices: tuple[str, ...]) -> Rule:
    def read(value: Any) -> Any:
        if not isinstance(value, str) or value not in choices:
            raise _Bad(f"{_shown(value)} is not one of {', '.join(choices)}")
        return value

    return Rule(read=read)


def _list(item: Rule, limit: int = MAX_SAMPLES) -> Rule:
    def read(value: Any) -> tuple[Any, ...]:
        if not isinstance(value, list) or len(value) > limit:
            raise _Bad(f"is not a list of at most {limit:,} items")
        if item.test is not None and all(map(item.test, value)):
            return tuple(value)
        checked = []
        for i, x in enumerate(value):
            try:
                checked.append(_read(item, x))
            except _Bad as bad:
                raise bad.at(f"[{i}]") from None
        return tuple(checked)

    return Rule(read=read)


def _records(cls: type) -> Rule:
    return _list(Rule(read=lambda value: _record(cls, value)))


_TEXT = Rule(lambda v: isinstance(v, str) and len(v) <= MAX_TEXT, f"is not a string of at most {MAX_TEXT:,} characters")
# never a path out of ROOT: bank folders are plain names directly in it, their files plain names
_FOLDER = Rule(
    lambda v: isinstance(v, str) and len(v) <= MAX_TEXT and BANK_NAME.fullmatch(v) is not None, "is not the name of a bank folder"
)
_FILE = Rule(lambda v: isinstance(v, str) and len(v) <= MAX_TEXT and PLAIN_NAME.fullmatch(v) is not None, "is not a plain file name")
_FLAG = Rule(lambda v: isinstance(v, bool), "is not true or false")
_COUNT = _whole()
_FAMILY = _one_of(FAMILIES)
#: Where a sample's family came from, strongest first: the user (``tidalsort set``), the
#: file's or folder's name, the audio model.
FAMILY_SOURCES = ("you", "name", "audio")
_LABEL = Rule(lambda v: v is None or (isinstance(v, str) and len(v) <= MAX_TEXT), "is not a string")
_CLUSTERS = Rule(
    lambda v: v == "auto" or (type(v) is int and 1 <= v <= MAX_SAMPLES), f"is not 'auto' or a whole number from 1 to {MAX_SAMPLES:,}"
)


def _field(rule: Rule, default: Any = MISSING) -> Any:
    """A record field read with ``rule``; one without ``default`` must be in the manifest."""
    return field(default=default, metadata={"rule": rule})


class Record:
    """A record of the manifest (the base of those below)."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The record as the manifest holds it (what :func:`_record` reads back)."""
        return _plain(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem(Record):
    """A source file that was skipped, or sorted with a warning."""

    source: str = _field(_TEXT)
    reason: str = _field(_TEXT)


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample(Record):
    """One file of the bank, at ``n`` in ``folder``. The optional fields are None in
    entries that lack them (format version 1 has no family or confidence, version 2 no
    ``family_from``, ``audio_family`` or ``audio_confidence``)."""

    folder: str = _field(_FOLDER)
    n: int = _field(_COUNT)
    file: str = _field(_FILE)
    source: str = _field(_TEXT)
    cluster: int = _field(_COUNT)
    family: str | None = _field(_FAMILY, None)
    confidence: float | None = _field(_number(0, 1), None)
    family_from: str | None = _field(_one_of(FAMILY_SOURCES), None)  # who decided: "you", "name" or "audio" (format 3)
    audio_family: str | None = _field(_FAMILY, None)  # what the audio model heard, whoever decided (format 3)
    audio_confidence: float | None = _field(_number(0, 1), None)
    duration: float | None = _field(_number(0, 1e9), None)  # seconds
    centroid: float | None = _field(_number(0, 1e7), None)  # Hz
    samplerate: int | None = _field(_whole(1, 10_000_000), None)
    channels: int | None = _field(_whole(1, 65_535), None)
    format: str | None = _field(_TEXT, None)  # "WAV/PCM_16"
    sha1: str = _field(_TEXT)


@dataclass(frozen=True, slots=True, kw_only=True)
class Cluster(Record):
    """A cluster: the ``n`` range [start, stop) of ``folder``, its most typical member
    (``representative``, an ``n``), its label and family (None before families existed)."""

    id: int = _field(_COUNT)
    label: str | None = _field(_LABEL, None)
    family: str | None = _field(_FAMILY, None)
    folder: str = _field(_FOLDER)
    start: int = _field(_COUNT)
    stop: int = _field(_COUNT)
    size: int = _field(_COUNT)
    representative: int = _field(_COUNT)


@dataclass(frozen=True, slots=True, kw_only=True)
class FamilyRun(Record):
    """The ``n`` range [start, stop) of ``folder`` that one family fills."""

    family: str = _field(_FAMILY)
    folder: str = _field(_FOLDER)
    start: int = _field(_COUNT)
    stop: int = _field(_COUNT)
    size: int | None = _field(_COUNT, None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings(Record):
    """The options the bank was sorted with (those after ``method`` None where the entry lacks them)."""

    group: str | None = _field(_one_of(GROUPS), None)
    names: bool | None = _field(_FLAG, None)
    model: str | None = _field(_TEXT, None)  # "families-v1"
    features: str = _field(_one_of(tuple(FEATURE_SETS)))
    frames: int = _field(_whole(1, 10_000))
    scaling: str | None = _field(_one_of(SCALINGS), None)
    method: str = _field(_one_of(METHODS))
    clusters: int | str | None = _field(_CLUSTERS, None)  # a number, or "auto"
    clusters_used: int | None = _field(_COUNT, None)
    order: str | None = _field(_one_of(ORDERS), None)
    strategy: str | None = _field(_one_of(STRATEGIES), None)
    link: str | None = _field(_one_of(LINKS), None)
    dedupe: bool | None = _field(_FLAG, None)
    tidalsort: str | None = _field(_TEXT, None)  # the version that sorted it


@dataclass(frozen=True, slots=True, kw_only=True)
class Bank(Record):
    """One bank's manifest entry (:meth:`to_dict`, without the name), and its name (the
    entry's key in the manifest)."""

    name: str
    layout: str | None = _field(_one_of(LAYOUTS), None)
    settings: Settings = _field(Rule(read=lambda value: _record(Settings, value)))
    sources: tuple[str, ...] | None = _field(_list(_TEXT), None)
    inputs: str | None = _field(_TEXT, None)  # the sort's fingerprint (tidalsort.output.freshness)
    boundaries: tuple[int, ...] | None = _field(_list(_COUNT), None)
    families: tuple[FamilyRun, ...] | None = _field(_records(FamilyRun), None)  # None before families existed
    clusters: tuple[Cluster, ...] = _field(_records(Cluster))
    samples: tuple[Sample, ...] = _field(_records(Sample))
    skipped: tuple[Problem, ...] = _field(_records(Problem), ())
    #: Sets of source files with the same bytes, by path (None before tidalsort listed them).
    duplicates: tuple[tuple[str, ...], ...] | None = _field(_list(_list(_TEXT)), None)
    warnings: tuple[Problem, ...] = _field(_records(Problem), ())
    #: The entry's keys this tidalsort does not know, written back after the others.
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, name: str, entry: Any) -> Bank:
        """The bank ``name`` from its manifest entry, checked.

        Raises
        ------
        tidalsort.errors.ManifestError
            Naming the bank, the field and its index, e.g. ``bank 'kb6': samples[3]:
            confidence is not a number from 0 to 1``.
        """
        try:
            bank = _record(
                cls,
                entry,
                name=name,
                extra={key: value for key, value in entry.items() if key not in _KNOWN and small_plain(value)}
                if isinstance(entry, dict)
                else {},
            )
        except _Bad as bad:
            raise ManifestError(f"bank {name!r}: {bad}") from None
        _check_references(bank)
        return bank


def _check_references(bank: Bank) -> None:
    """Raise ManifestError if a sample names a cluster, or a cluster a sample, that the bank lacks."""
    places = {(s.folder, s.n) for s in bank.samples}
    for i, s in enumerate(bank.samples):
        if s.cluster >= len(bank.clusters):
            raise ManifestError(f"bank {bank.name!r}: samples[{i}]: no cluster {s.cluster}")
    for i, c in enumerate(bank.clusters):
        if (c.folder, c.representative) not in places or any((c.folder, n) not in places for n in range(c.start, c.stop)):
            raise ManifestError(f"bank {bank.name!r}: clusters[{i}]: refers to samples the entry does not have")


#: (name, rule, required) of every field read from the manifest, per record type.
_SPECS: dict[type, list[tuple[str, Rule, bool]]] = {}
#: Fields written even when None.
_NULLABLE = {(Cluster, "label")}
#: The keys of a bank entry.
_KNOWN = {f.name for f in fields(Bank) if "rule" in f.metadata}


def _record(cls: type, value: Any, **given: Any) -> Any:
    """A ``cls`` from the mapping ``value``, every field checked by its rule (``given``: fields
    not read from the mapping)."""
    if not isinstance(value, dict):
        raise _Bad("is not a mapping")
    if cls not in _SPECS:
        _SPECS[cls] = [(f.name, f.metadata["rule"], f.default is MISSING) for f in fields(cls) if "rule" in f.metadata]
    for name, rule, required in _SPECS[cls]:
        if name not in value:
            if required:
                raise _Bad("is missing").at(name)
        elif rule.test is not None and rule.test(value[name]):  # the common case, in one call
            given[name] = value[name]
        else:
            try:
                given[name] = _read(rule, value[name])
            except _Bad as bad:
                raise bad.at(name) from None
    return cls(**given)


def _plain(record: Any) -> dict[str, Any]:
    """``record`` as the manifest holds it: records as mappings, tuples as lists, None left out."""
    kind = type(record)
    if kind not in _WRITTEN:
        _WRITTEN[kind] = [(f.name, (kind, f.name) in _NULLABLE) for f in fields(kind) if "rule" in f.metadata]
    plain = {}
    for name, nullable in _WRITTEN[kind]:
        value = getattr(record, name)
        if value is None and not nullable:
            continue
        plain[name] = _plain_value(value)
    return {**plain, **record.extra} if kind is Bank else plain


def _plain_value(value: Any) -> Any:
    """A field's value as the manifest holds it: records as mappings, tuples as lists, at any depth."""
    if isinstance(value, Record):
        return _plain(value)
    if isinstance(value, tuple):
        return [_plain_value(x) for x in value]
    return value


#: (name, written when None) of every field written to the manifest, per record type.
_WRITTEN: dict[type, list[tuple[str, bool]]] = {}
