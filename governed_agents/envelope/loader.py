"""Loading an envelope from YAML: the only way to get a ``LoadedEnvelope``.

The YAML is composed into a node tree first (pure-Python SafeLoader, so that
every node keeps its line and column), checked for what PyYAML would silently
accept — duplicate keys, anchors and aliases, merge keys, runaway nesting — and
only then constructed and validated by the pydantic model. Every problem is
reported as ``file:line:column: field.path: message``, all of them at once, in
one ``PolicyError``. Anything that goes wrong is a ``PolicyError``: a workflow
whose envelope does not load does not run.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from governed_agents import config
from governed_agents.canonical import digest as _digest
from governed_agents.envelope.model import WORKFLOW_RE, Envelope
from governed_agents.errors import PolicyError

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
# An envelope is a few hundred nodes; the limit bounds the work a hostile or
# broken file can cause (the pure-Python composer is slow but keeps marks).
MAX_NODES = 20_000
MAX_REPORTED = 50
_HINT = "fix the envelope and run `governed-agents policy validate`; the workflow does not run until it loads"


@dataclass(frozen=True, slots=True)
class LoadedEnvelope:
    """A validated envelope together with where it came from and its digest.

    ``digest`` is ``canonical.digest(envelope.model_dump(mode="json"))``: the
    same content gives the same digest whatever the comments, whitespace or key
    order of the file; any change of content (defaults included) changes it.
    """

    envelope: Envelope
    digest: str
    source: str

    @property
    def version(self) -> str:
        return self.envelope.version

    @property
    def workflow(self) -> str:
        return self.envelope.workflow

    def short_digest(self) -> str:
        return self.digest[: len("sha256:") + 8] + "…"


@dataclass(frozen=True, slots=True)
class EnvelopeProblem:
    """One reason an envelope does not load."""

    source: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"file": self.source, "line": self.line, "column": self.column, "path": self.path, "message": self.message}


class _Refused(Exception):
    def __init__(self, mark: Any, message: str):
        super().__init__(message)
        self.mark = mark
        self.message = message


class _EnvelopeYamlLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors, aliases and deep nesting while composing."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D401 - PyYAML hook
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(event.start_mark, f"YAML aliases (*{event.anchor}) are not allowed in an envelope")
        if getattr(event, "anchor", None) is not None:
            raise _Refused(event.start_mark, f"YAML anchors (&{event.anchor}) are not allowed in an envelope")
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _Refused(event.start_mark, f"more than {MAX_NODES} YAML nodes; an envelope needs far fewer")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(event.start_mark, f"nesting deeper than {MAX_DEPTH} levels")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _problem(source: str, mark: Any, path: str, message: str) -> EnvelopeProblem:
    if mark is None:
        return EnvelopeProblem(source, None, None, path, message)
    return EnvelopeProblem(source, mark.line + 1, mark.column + 1, path, message)


def _raise(source: str, problems: list[EnvelopeProblem]) -> None:
    lines = [str(p) for p in problems[:MAX_REPORTED]]
    if len(problems) > MAX_REPORTED:
        lines.append(f"{source}: … and {len(problems) - MAX_REPORTED} more problems")
    raise PolicyError(
        "\n".join(lines),
        hint=_HINT,
        details={"file": source, "errors": [p.to_json() for p in problems]},
    )


def _yaml_error(source: str, text: str, exc: yaml.YAMLError) -> EnvelopeProblem:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        message = "YAML syntax error: " + (exc.problem or exc.context or "cannot parse")
        if exc.problem and exc.context:
            where = exc.context_mark
            if where is not None and (mark is None or where.line != mark.line):
                message += f" ({exc.context} that starts at line {where.line + 1}, column {where.column + 1})"
            else:
                message += f" ({exc.context})"
        return _problem(source, mark, "", message)
    position = getattr(exc, "position", None)
    if isinstance(position, int):
        before = text[:position]
        line = before.count("\n") + 1
        column = position - (before.rfind("\n") + 1) + 1
        character = getattr(exc, "character", None)
        what = f"character #x{character:04x}" if isinstance(character, int) else "a character"
        reason = getattr(exc, "reason", None) or "cannot be read"
        return EnvelopeProblem(source, line, column, "", f"YAML error: unacceptable {what}: {reason}")
    return EnvelopeProblem(source, None, None, "", f"YAML error: {exc}".replace("\n", " "))


def _key_of(loader: _EnvelopeYamlLoader, node: yaml.Node) -> Any:
    value = loader.construct_object(node, deep=True)
    try:
        hash(value)
    except TypeError:
        return ("unhashable", node.start_mark.index)
    return value


_TAGS = frozenset(
    "tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
)


def _structure_problems(source: str, loader: _EnvelopeYamlLoader, root: yaml.Node) -> list[EnvelopeProblem]:
    """What PyYAML would accept silently: duplicate keys, merge keys, non-scalar keys,
    explicit tags beyond the plain ones, and text that is not valid Unicode."""
    problems: list[EnvelopeProblem] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.tag not in _TAGS and node.tag != "tag:yaml.org,2002:merge":
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            problems.append(
                _problem(source, node.start_mark, "", f"YAML tag {tag} is not allowed in an envelope (quote the value if it is text)")
            )
            continue
        if isinstance(node, yaml.ScalarNode):
            try:
                node.value.encode("utf-8")
            except UnicodeEncodeError as exc:
                bad = node.value[exc.start]
                problems.append(
                    _problem(source, node.start_mark, "", f"text contains an unpaired surrogate (\\u{ord(bad):04x}); not valid Unicode")
                )
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Node] = {}
            for key_node, value_node in node.value:
                stack.append(value_node)
                if isinstance(key_node, yaml.ScalarNode):
                    stack.append(key_node)
                if key_node.tag == "tag:yaml.org,2002:merge":
                    problems.append(_problem(source, key_node.start_mark, "", "YAML merge keys (<<) are not allowed"))
                    continue
                if not isinstance(key_node, yaml.ScalarNode):
                    problems.append(_problem(source, key_node.start_mark, "", "mapping keys must be plain scalars"))
                    continue
                key = _key_of(loader, key_node)
                if key in seen:
                    first = seen[key].start_mark.line + 1
                    problems.append(
                        _problem(source, key_node.start_mark, "", f"duplicate key {key_node.value!r} (first at line {first})")
                    )
                else:
                    seen[key] = key_node
    problems.sort(key=lambda p: (p.line or 0, p.column or 0))
    return problems


# -- mapping pydantic errors back to the YAML ----------------------------------


def _format_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _node_for(root: yaml.Node, loc: tuple[Any, ...], index: dict[int, dict] | None = None) -> yaml.Node:
    """The deepest node along ``loc``: a mapping entry's key node, or a sequence item.

    ``index`` memoises each mapping's keys, so that many errors in one large
    mapping do not cost a scan each.
    """
    index = {} if index is None else index
    node, found = root, root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            keys = index.get(id(node))
            if keys is None:
                keys = index[id(node)] = {}
                for key_node, value_node in node.value:
                    if isinstance(key_node, yaml.ScalarNode):
                        keys.setdefault(key_node.value, (key_node, value_node))
            entry = keys.get(str(part))
            if entry is None:
                return found
            found, node = entry
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            found = node = node.value[part]
        else:
            return found
    return found


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Envelope
    for part in loc:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return model


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    loc = tuple(error["loc"])
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = sorted(model.model_fields) if model else []
        message = "unknown key"
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        if close:
            message += f"; did you mean {close[0]!r}?"
        if allowed:
            message += f" (allowed here: {', '.join(allowed)})"
        return message
    message = error["msg"]
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        message = "must be a mapping of keys"
    if "url" not in error:
        return message  # our own messages already say what they need to
    value = error.get("input")
    if isinstance(value, (dict, list, tuple)):
        return message + f" (got a {'mapping' if isinstance(value, dict) else 'list'})"
    if value is None:
        return message + " (got null)"
    return message + f" (got {_show(value)})"


def _validation_problems(source: str, root: yaml.Node, exc: ValidationError) -> list[EnvelopeProblem]:
    problems = []
    index: dict[int, dict] = {}
    for error in exc.errors():
        loc = tuple(error["loc"])
        ctx = error.get("ctx") or {}
        if isinstance(ctx.get("index"), int):
            loc = loc + (ctx["index"],)
        node = _node_for(root, loc, index)
        problems.append(_problem(source, node.start_mark, _format_path(loc), _message(error)))
    problems.sort(key=lambda p: (p.line or 0, p.column or 0))
    return problems


# -- public API ----------------------------------------------------------------


def _construction_problem(source: str, root: yaml.Node | None, exc: Exception) -> EnvelopeProblem:
    """Find the scalar PyYAML could not construct (it does not say where)."""
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            probe = _EnvelopeYamlLoader("")
            try:
                probe.construct_object(node)
            except Exception as inner:  # noqa: BLE001 - we are looking for exactly this failure
                shown = node.value if len(node.value) <= 40 else node.value[:37] + "..."
                return _problem(source, node.start_mark, "", f"cannot read the value {shown!r}: {inner}")
            finally:
                probe.dispose()
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in reversed(node.value):
                stack.extend((value_node, key_node))
    return EnvelopeProblem(source, None, None, "", f"cannot read a YAML value: {exc}")


def _parse(text: str, source: str) -> tuple[yaml.Node, Any]:
    loader: _EnvelopeYamlLoader | None = None
    root: yaml.Node | None = None
    try:
        try:
            loader = _EnvelopeYamlLoader(text)
            root = loader.get_single_node()
            if root is None:
                _raise(source, [EnvelopeProblem(source, None, None, "", "the file is empty; an envelope is a YAML mapping")])
            if not isinstance(root, yaml.MappingNode):
                found = {"tag:yaml.org,2002:null": "null"}.get(root.tag, type(root).__name__.replace("Node", "").lower())
                _raise(
                    source,
                    [_problem(source, root.start_mark, "", f"the document must be a mapping of envelope sections, found a {found}")],
                )
            problems = _structure_problems(source, loader, root)
            if problems:
                _raise(source, problems)
            data = loader.construct_document(root)
        except _Refused as exc:
            _raise(source, [_problem(source, exc.mark, "", exc.message)])
        except yaml.YAMLError as exc:
            _raise(source, [_yaml_error(source, text, exc)])
        except PolicyError:
            raise
        except RecursionError:
            _raise(source, [EnvelopeProblem(source, None, None, "", "the document is nested too deeply")])
        except Exception as exc:  # e.g. ValueError from a timestamp like 2026-13-45
            _raise(source, [_construction_problem(source, root, exc)])
    finally:
        if loader is not None:
            loader.dispose()
    return root, data


def load_envelope_text(text: str | bytes, source_name: str = "<envelope>") -> LoadedEnvelope:
    """Validate envelope YAML ``text``; ``source_name`` is used in messages and kept as ``.source``."""
    return _load(text, str(source_name))[0]


def _load(text: str | bytes, source: str) -> tuple[LoadedEnvelope, yaml.Node]:
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            _raise(source, [EnvelopeProblem(source, None, None, "", f"the file is larger than {MAX_BYTES} bytes")])
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            _raise(source, [EnvelopeProblem(source, None, None, "", f"not UTF-8 text (bad byte at offset {exc.start})")])
    elif len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        _raise(source, [EnvelopeProblem(source, None, None, "", f"the file is larger than {MAX_BYTES} bytes")])
    assert isinstance(text, str)
    root, data = _parse(text, source)
    try:
        envelope = Envelope.model_validate(data)
    except ValidationError as exc:
        _raise(source, _validation_problems(source, root, exc))
    try:
        digest = _digest(envelope.model_dump(mode="json"))
    except (TypeError, ValueError) as exc:  # pragma: no cover - the checks above should make this unreachable
        _raise(source, [EnvelopeProblem(source, None, None, "", f"the envelope has no canonical form: {exc}")])
    return LoadedEnvelope(envelope=envelope, digest=digest, source=source), root


def load_envelope(path: str | Path) -> LoadedEnvelope:
    """Load and validate the envelope at ``path``; raises ``PolicyError`` with every problem found."""
    return _load_file(path)[0]


def _load_file(path: str | Path) -> tuple[LoadedEnvelope, yaml.Node]:
    source = str(path)
    file = Path(path)
    try:
        if not file.is_file():
            reason = "is a directory, not a file" if file.is_dir() else "no such file"
            _raise(source, [EnvelopeProblem(source, None, None, "", reason)])
        with file.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        _raise(source, [EnvelopeProblem(source, None, None, "", f"cannot read: {exc.strerror or exc}")])
    return _load(data, source)


def envelope_path(workflow: str) -> Path:
    """Where the envelope of ``workflow`` lives: ``<policy_dir>/<workflow>.yaml``."""
    if not isinstance(workflow, str) or not WORKFLOW_RE.fullmatch(workflow):
        raise PolicyError(
            f"{workflow!r} is not a workflow name",
            hint="workflow names are lower case letters, digits and _ , starting with a letter",
        )
    return config.policy_dir() / f"{workflow}.yaml"


def find_envelope(workflow: str) -> LoadedEnvelope:
    """The envelope of ``workflow`` from the policy directory; its ``workflow`` field must match the file name."""
    path = envelope_path(workflow)
    if not path.is_file():
        raise PolicyError(
            f"no envelope for workflow {workflow!r}: {path} does not exist",
            hint="a workflow without an envelope does not run; create the file or check GOVERNED_AGENTS_POLICY_DIR",
        )
    loaded, root = _load_file(path)
    if loaded.workflow != workflow:
        node = _node_for(root, ("workflow",))
        _raise(
            str(path),
            [
                _problem(
                    str(path),
                    node.start_mark,
                    "workflow",
                    f"{loaded.workflow!r} does not match the file name {path.name!r} (expected {workflow!r})",
                )
            ],
        )
    return loaded
