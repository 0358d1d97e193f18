"""JobSpec: the one validated job definition, shared by YAML, the API, the CLI and Python.

External input is checked once, here, by pydantic, and comes out as a frozen ``JobSpec`` the
engine trusts. Every problem is reported with its place (``jobs[3].schedule: ...``), all of
them at once, so a user fixes a file in one pass. ``JobSpec.canonical()`` is the JSON form
stored with each job; ``JobSpec.from_canonical`` reads it back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from cronwell.policies import (
    MisfireAction,
    MisfirePolicy,
    OverlapPolicy,
    PolicyError,
    Priority,
    RetryPolicy,
    RetryStrategy,
)
from cronwell.schedules import Schedule, ScheduleError, parse_duration, parse_schedule
from cronwell.schedules.zones import load_zone

NAME = r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}"
DOTTED_PATH = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")
DEFAULT_RETRY = RetryPolicy()
DEFAULT_MISFIRE = MisfirePolicy()


class SpecError(ValueError):
    """Invalid job definitions: every problem, each as ``place: problem``."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        lines = (f"{place}: {problem}" if place else problem for place, problem in self.problems)
        super().__init__("\n".join(lines))


class OnDead(StrEnum):
    KEEP = "keep"  # the job stays enabled; the dead run waits in the dead-letter queue
    DISABLE = "disable"  # the job is disabled too, and listed in the dead-letter queue


class Mode(StrEnum):
    PROCESS = "process"
    THREAD = "thread"


class On(StrEnum):
    """The state an upstream run must end in for its downstream to run."""

    SUCCESS = "success"  # it ended succeeded
    FAILURE = "failure"  # it ended dead (attempts exhausted)
    COMPLETION = "completion"  # it ended succeeded or dead; skipped and cancelled runs do not


@dataclass(frozen=True, slots=True)
class Dependency:
    """One entry of ``depends_on``: run after a run of ``job`` ends as ``on`` says."""

    job: str
    on: On = On.SUCCESS


DEFAULT_WAIT_TIMEOUT = timedelta(hours=1)


Duration = str | int | float | timedelta
_P = TypeVar("_P")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class _Retry(_Model):
    strategy: RetryStrategy = RetryStrategy.EXPONENTIAL
    max_attempts: Annotated[int, Field(ge=1, le=1000)] = 3
    initial_delay: Duration = 10
    max_delay: Duration = 3600
    multiplier: Annotated[float, Field(ge=1, le=100)] = 2.0
    jitter: Annotated[float, Field(ge=0, le=1)] = 0.1


class _Misfire(_Model):
    policy: MisfireAction = MisfireAction.RUN_ONCE
    grace: Duration = 86400
    max_catch_up: Annotated[int, Field(ge=1)] = 100

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"policy": value} if isinstance(value, str) else value


def _custom(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


class _Dependency(_Model):
    job: str
    on: On = On.SUCCESS

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"job": value}
        if isinstance(value, Mapping) and True in value:
            # YAML 1.1 reads a bare ``on:`` key as the boolean true (as GitHub Actions users
            # know): it can only mean ``on`` here.
            return {("on" if key is True else key): each for key, each in value.items()}
        return value

    @field_validator("job")
    @classmethod
    def _job(cls, value: str) -> str:
        return _Job._name(value)


class _Job(_Model):
    name: str
    timezone: str | None = None
    description: str = ""
    task: str | None = None
    command: str | list[str] | None = None
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    schedule: str | dict[str, Any] = "manual"
    enabled: bool = True
    queue: str = "default"
    priority: str = "normal"
    timeout: Duration | None = None
    heartbeat_timeout: Duration | None = None
    retry: _Retry = _Retry()
    overlap: OverlapPolicy = OverlapPolicy.FORBID
    misfire: _Misfire = _Misfire()
    on_dead: OnDead = OnDead.KEEP
    mode: Mode = Mode.PROCESS
    tags: list[str] = []
    metadata: dict[str, Any] = {}
    depends_on: list[_Dependency] = []
    fallback: list[str] = []
    wait_timeout: Duration = DEFAULT_WAIT_TIMEOUT.total_seconds()
    template: str | None = None
    overrides: dict[str, Any] = {}  # the fields the job sets over its template

    @field_validator("name", "queue")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.fullmatch(NAME, value):
            rule = "must start with a letter or digit and hold only letters, digits and _.:-"
            raise _custom("name", f"{value!r} {rule} (at most 200)")
        return value

    @field_validator("tags", "fallback")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return [cls._name(tag) for tag in value]

    @field_validator("depends_on")
    @classmethod
    def _depends_on(cls, value: list[_Dependency]) -> list[_Dependency]:
        names = [dependency.job for dependency in value]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:  # one edge per pair: two would ask for two states at once
            raise _custom("twice", f"{', '.join(map(repr, twice))} named more than once")
        return value

    @field_validator("wait_timeout")
    @classmethod
    def _wait_timeout(cls, value: Duration) -> Duration:
        _checked(lambda: _duration(value, "wait_timeout"))
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        if value is not None:
            _checked(lambda: load_zone(value))
        return value

    @field_validator("task")
    @classmethod
    def _task(cls, value: str | None) -> str | None:
        if value is None or re.fullmatch(NAME, value) or DOTTED_PATH.fullmatch(value):
            return value
        raise _custom("task", f"{value!r} is not a task name or pkg.module:function")

    @field_validator("command")
    @classmethod
    def _command(cls, value: str | list[str] | None) -> str | list[str] | None:
        # An empty command has nothing to run: it would start no process and never end.
        if value is not None and not (value if isinstance(value, str) else value and value[0]):
            raise _custom("command", "must not be empty")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | dict[str, Any], info: ValidationInfo) -> Any:
        zone = info.data.get("timezone")
        key = info.data.get("name", "")
        _checked(lambda: parse_schedule(value, timezone=zone, key=key), whole=True)
        return value

    @field_validator("priority")
    @classmethod
    def _priority(cls, value: str) -> str:
        _checked(lambda: Priority.parse(value))
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: Duration | None) -> Duration | None:
        if value is not None:  # zero would time every attempt out at once
            _checked(lambda: parse_duration(value, "timeout"))
        return value

    @field_validator("heartbeat_timeout")
    @classmethod
    def _heartbeat_timeout(cls, value: Duration | None, info: ValidationInfo) -> Duration | None:
        if value is None:
            return value
        _checked(lambda: parse_duration(value, "heartbeat_timeout"))
        if info.data.get("command") is not None:  # it would stop every attempt unheard
            raise _custom("heartbeat_timeout", "a command cannot call ctx.heartbeat(): give a task")
        return value

    @field_validator("template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        return value if value is None else cls._name(value)

    @model_validator(mode="after")
    def _target(self) -> _Job:
        if (self.task is None) == (self.command is None):
            raise _custom("target", "give exactly one of task and command")
        if self.overrides and self.template is None:
            raise _custom("overrides", "overrides are kept only for a job with a template")
        return self


def _checked(make: Any, *, whole: bool = False) -> None:
    """Run a check of ours inside pydantic. Its message goes under the pydantic field; with
    ``whole`` the message keeps its own field name (``start: ...`` inside a schedule)."""
    try:
        make()
    except (ScheduleError, PolicyError) as error:
        raise _custom("invalid", str(error) if whole else error.problem) from None


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A valid job definition. Exactly one of ``task`` and ``command`` is set."""

    name: str
    schedule: Schedule
    schedule_source: str | Mapping[str, Any]
    timezone: str
    task: str | None = None
    command: str | tuple[str, ...] | None = None
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    is_enabled: bool = True
    queue: str = "default"
    priority: Priority = Priority.NORMAL
    timeout: timedelta | None = None
    heartbeat_timeout: timedelta | None = None
    retry: RetryPolicy = DEFAULT_RETRY
    overlap: OverlapPolicy = OverlapPolicy.FORBID
    misfire: MisfirePolicy = DEFAULT_MISFIRE
    on_dead: OnDead = OnDead.KEEP
    mode: Mode = Mode.PROCESS
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    depends_on: tuple[Dependency, ...] = ()
    fallback: tuple[str, ...] = ()
    wait_timeout: timedelta = DEFAULT_WAIT_TIMEOUT
    template: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, Any], place: str = "") -> JobSpec:
        """A JobSpec from external input, or a SpecError listing every problem under ``place``."""
        try:
            model = _Job.model_validate(data)
        except ValidationError as error:
            raise SpecError(_problems(error, place)) from None
        return _build(model, place)

    def canonical(self) -> dict[str, Any]:
        """The definition as plain JSON, keys sorted, defaults included: what gets stored."""
        return _Job.model_validate(self._fields()).model_dump(mode="json")

    @classmethod
    def from_canonical(cls, data: Mapping[str, Any]) -> JobSpec:
        """The JobSpec of a stored canonical form: what ``parse`` makes of it, made faster.

        The form was validated before it was stored, so it is trusted and read without
        pydantic; a form not in today's canonical shape (other keys, a value of another
        type) goes through ``parse`` instead, which validates it and names any problem.
        """
        if data.keys() == _CANONICAL_KEYS:
            try:
                return _trusted(data)
            except (KeyError, TypeError, ValueError, AttributeError):
                pass
        return cls.parse(data)

    def _fields(self) -> dict[str, Any]:
        command = list(self.command) if isinstance(self.command, tuple) else self.command
        timeout = None if self.timeout is None else self.timeout.total_seconds()
        silence = self.heartbeat_timeout
        return {
            "name": self.name,
            "description": self.description,
            "task": self.task,
            "command": command,
            "args": list(self.args),
            "kwargs": dict(self.kwargs),
            "schedule": self.schedule_source,
            "timezone": self.timezone,
            "enabled": self.is_enabled,
            "queue": self.queue,
            "priority": self.priority.name.lower(),
            "timeout": timeout,
            "heartbeat_timeout": None if silence is None else silence.total_seconds(),
            "retry": _retry_fields(self.retry),
            "overlap": self.overlap,
            "misfire": {
                "policy": self.misfire.action,
                "grace": self.misfire.grace.total_seconds(),
                "max_catch_up": self.misfire.max_catch_up,
            },
            "on_dead": self.on_dead,
            "mode": self.mode,
            "tags": list(self.tags),
            "metadata": dict(self.metadata),
            "depends_on": [{"job": each.job, "on": each.on} for each in self.depends_on],
            "fallback": list(self.fallback),
            "wait_timeout": self.wait_timeout.total_seconds(),
            "template": self.template,
            "overrides": dict(self.overrides),
        }


def _retry_fields(retry: RetryPolicy) -> dict[str, Any]:
    return {
        "strategy": retry.strategy,
        "max_attempts": retry.max_attempts,
        "initial_delay": retry.initial_delay.total_seconds(),
        "max_delay": retry.max_delay.total_seconds(),
        "multiplier": retry.multiplier,
        "jitter": retry.jitter,
    }


def parse_jobs(items: Any, place: str = "jobs") -> list[JobSpec]:
    """Every job of a list, or one SpecError naming every problem of every job."""
    if not isinstance(items, list):
        raise SpecError([(place, "must be a list of jobs")])
    specs: list[JobSpec] = []
    problems: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for index, item in enumerate(items):
        where = f"{place}[{index}]"
        if not isinstance(item, Mapping):
            problems.append((where, "must be a mapping of job fields"))
            continue
        name = item.get("name")
        if isinstance(name, str) and name in seen:
            problems.append((f"{where}.name", f"{name!r} is defined twice (also {seen[name]})"))
        elif isinstance(name, str):
            seen[name] = where
        try:
            specs.append(JobSpec.parse(item, where))
        except SpecError as error:
            problems.extend(error.problems)
    if problems:
        raise SpecError(problems)
    return specs


def _build(model: _Job, place: str) -> JobSpec:
    """The JobSpec of a model pydantic has validated: every conversion here succeeds."""
    command = tuple(model.command) if isinstance(model.command, list) else model.command
    schedule = _schedule(model)
    return JobSpec(
        name=model.name,
        schedule=schedule,
        schedule_source=model.schedule,
        timezone=model.timezone or schedule.timezone.key,
        task=model.task,
        command=command,
        args=tuple(model.args),
        kwargs=dict(model.kwargs),
        description=model.description,
        is_enabled=model.enabled,
        queue=model.queue,
        priority=Priority.parse(model.priority),
        timeout=_duration(model.timeout, "timeout"),
        heartbeat_timeout=_duration(model.heartbeat_timeout, "heartbeat_timeout"),
        retry=_retry(model.retry, place),
        overlap=model.overlap,
        misfire=_misfire(model.misfire, place),
        on_dead=model.on_dead,
        mode=model.mode,
        tags=tuple(model.tags),
        metadata=dict(model.metadata),
        depends_on=tuple(Dependency(each.job, each.on) for each in model.depends_on),
        fallback=tuple(model.fallback),
        wait_timeout=_duration(model.wait_timeout, "wait_timeout") or timedelta(0),
        template=model.template,
        overrides=dict(model.overrides),
    )


_CANONICAL_KEYS = frozenset(_Job.model_fields)


def _trusted(data: Mapping[str, Any]) -> JobSpec:
    """The JobSpec of a canonical form, unchecked: each field converted as ``_build`` converts
    the validated model's."""
    name, timezone, source = data["name"], data["timezone"], data["schedule"]
    command = data["command"]
    return JobSpec(
        name=name,
        schedule=parse_schedule(source, timezone=timezone, key=name),
        schedule_source=dict(source) if isinstance(source, Mapping) else source,
        timezone=timezone,
        task=data["task"],
        command=tuple(command) if isinstance(command, list) else command,
        args=tuple(data["args"]),
        kwargs=dict(data["kwargs"]),
        description=data["description"],
        is_enabled=data["enabled"],
        queue=data["queue"],
        priority=Priority.parse(data["priority"]),
        timeout=_duration(data["timeout"], "timeout"),
        heartbeat_timeout=_duration(data["heartbeat_timeout"], "heartbeat_timeout"),
        retry=_retry_of(_values(data["retry"], _RETRY_KEYS)),
        overlap=OverlapPolicy(data["overlap"]),
        misfire=_misfire_of(_values(data["misfire"], _MISFIRE_KEYS)),
        on_dead=OnDead(data["on_dead"]),
        mode=Mode(data["mode"]),
        tags=tuple(data["tags"]),
        metadata=dict(data["metadata"]),
        depends_on=tuple(Dependency(each["job"], On(each["on"])) for each in data["depends_on"]),
        fallback=tuple(data["fallback"]),
        wait_timeout=_duration(data["wait_timeout"], "wait_timeout") or timedelta(0),
        template=data["template"],
        overrides=dict(data["overrides"]),
    )


_RETRY_KEYS = tuple(_Retry.model_fields)
_MISFIRE_KEYS = tuple(_Misfire.model_fields)


def _values(data: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[Any, ...]:
    if data.keys() != set(keys):
        raise KeyError(f"not the canonical keys {keys}")
    return tuple(data[key] for key in keys)


def _stored_retry(values: tuple[Any, ...]) -> RetryPolicy:
    strategy, max_attempts, initial_delay, max_delay, multiplier, jitter = values
    return RetryPolicy(
        strategy=RetryStrategy(strategy),
        max_attempts=int(max_attempts),
        initial_delay=_duration(initial_delay, "initial_delay") or timedelta(0),
        max_delay=_duration(max_delay, "max_delay") or timedelta(0),
        multiplier=float(multiplier),
        jitter=float(jitter),
    )


def _stored_misfire(values: tuple[Any, ...]) -> MisfirePolicy:
    policy, grace, max_catch_up = values
    return MisfirePolicy(
        MisfireAction(policy), _duration(grace, "grace") or timedelta(0), int(max_catch_up)
    )


_R = TypeVar("_R")
_MEMO_LIMIT = 256


def _memo(make: Callable[[tuple[Any, ...]], _R]) -> Callable[[tuple[Any, ...]], _R]:
    """``make`` remembered for up to _MEMO_LIMIT arguments: policies are immutable values and
    most jobs share a few, so each is built once."""
    made: dict[tuple[Any, ...], _R] = {}

    def get(values: tuple[Any, ...]) -> _R:
        found = made.get(values)
        if found is None:
            if len(made) >= _MEMO_LIMIT:
                made.clear()
            found = made[values] = make(values)
        return found

    return get


_retry_of = _memo(_stored_retry)
_misfire_of = _memo(_stored_misfire)


def _schedule(model: _Job) -> Schedule:
    return parse_schedule(model.schedule, timezone=model.timezone, key=model.name)


def _duration(value: Duration | None, name: str) -> timedelta | None:
    """A duration field where zero means "none" (a retry at once, no grace); None for no value
    at all."""
    if value is None:
        return None
    if value in (0, "0", "0s", timedelta(0)):
        return timedelta(0)
    if isinstance(value, timedelta) and value < timedelta(0):
        raise ScheduleError(name, f"{value.total_seconds():g}s must be zero or longer")
    if isinstance(value, int | float) and value < 0:
        raise ScheduleError(name, f"{value!r} must be zero or longer")
    return parse_duration(value, name)


def _retry(model: _Retry, place: str) -> RetryPolicy:
    return _policy(
        place,
        "retry",
        lambda: RetryPolicy(
            strategy=model.strategy,
            max_attempts=model.max_attempts,
            initial_delay=_duration(model.initial_delay, "initial_delay") or timedelta(0),
            max_delay=_duration(model.max_delay, "max_delay") or timedelta(0),
            multiplier=model.multiplier,
            jitter=model.jitter,
        ),
    )


def _misfire(model: _Misfire, place: str) -> MisfirePolicy:
    return _policy(
        place,
        "misfire",
        lambda: MisfirePolicy(
            model.policy, _duration(model.grace, "grace") or timedelta(0), model.max_catch_up
        ),
    )


def _policy(place: str, name: str, make: Callable[[], _P]) -> _P:
    """A policy value; its own checks (max_delay >= initial_delay, ...) become a SpecError."""
    try:
        return make()
    except (ScheduleError, PolicyError) as error:
        raise SpecError([(_join(place, name, error.field), error.problem)]) from None


def _join(*parts: str) -> str:
    return ".".join(part for part in parts if part)


def _problems(error: ValidationError, place: str) -> list[tuple[str, str]]:
    """pydantic's errors in our words: the place a user wrote, never a type of ours."""
    problems: dict[str, str] = {}
    for detail in error.errors(include_url=False):
        parts = [part for part in detail["loc"] if not _is_type_name(part)]
        location = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)
        where = (place + location).lstrip(".")
        if where in problems:  # a value that fits no branch of a union: say it once
            problems[where] = _UNION_PROBLEMS.get(where.rsplit(".", 1)[-1], problems[where])
            continue
        problems[where] = _message(detail)
    return list(problems.items())


_UNION_PROBLEMS = {
    "command": "must be a shell command line or a list of arguments",
    "schedule": "must be a schedule string or a mapping",
    "timeout": "must be a duration like 90s, 5m, 2h or 1d",
    "heartbeat_timeout": "must be a duration like 90s, 5m, 2h or 1d",
    "wait_timeout": "must be a duration like 90s, 5m, 2h or 1d",
}


def _is_type_name(part: str | int) -> bool:
    """The branch of a union pydantic tried (``constrained-str``, ``list[str]``, ...)."""
    return isinstance(part, str) and (
        part in {"str", "int", "float", "bool", "constrained-str", "timedelta"}
        or part.startswith(("list[", "dict[", "function-"))
    )


def _message(detail: Any) -> str:
    if detail["type"] == "extra_forbidden":
        return "unknown field"
    if detail["type"] in {"model_type", "model_attributes_type", "dict_type"}:
        return "must be a mapping"
    if detail["type"] == "list_type":
        return "must be a list"
    return str(detail["msg"])
