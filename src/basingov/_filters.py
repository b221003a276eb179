"""Row filters from config files: a small comparison language, parsed, never evaluated as code.

A ``[networks.<key>] filter`` selects the features of a layer, e.g.
``NAME == '京杭运河(江南运河)' and in_basin_share >= 0.5``. Configs come from other people,
so the text is not handed to :meth:`pandas.DataFrame.query` or :func:`eval` (both run
Python: ``@pd.io.common.os.system(...)``). It is tokenised and parsed here by a
recursive-descent parser that knows only:

- column names (Python identifiers, any script: ``NAME``, ``名称``);
- literals: ``'text'`` or ``"text"``, numbers (``3``, ``-0.5``, ``1e3``), ``true``/``false``;
- comparisons ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` between a column and a literal
  or two columns, and ``column in [literal, ...]`` / ``column not in [...]``;
- ``and``, ``or``, ``not`` and parentheses;
- the functions of :data:`FUNCTIONS` on a column, implemented here (not Python
  functions): ``number(strahler_order) >= 5`` compares the first number in the text
  (``"5th"`` and ``"5.0"`` give 5).

Anything else (other function calls, attribute access, ``@`` variables, backticks,
arithmetic, indexing) is a :class:`~basingov.errors.ConfigError` saying what is allowed. The parsed
filter is a tree of plain tuples; :func:`apply_filter` turns it into a boolean mask with
vectorised pandas comparisons (missing values never match, except with ``!=``, as in pandas).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from basingov.errors import ConfigError

__all__ = ["FUNCTIONS", "FilterExpr", "apply_filter", "filter_columns", "parse_filter"]

#: The only functions a filter may call, each on one column: name -> what it gives.
FUNCTIONS: dict[str, str] = {
    "number": "the first number in the column's text ('5th' -> 5, '5.0' -> 5.0; none: missing)",
}

_COMPARE = ("==", "!=", "<=", ">=", "<", ">")
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "True", "False"}
_HELP = (
    "a filter may use only column names, quoted text, numbers, true/false, the comparisons "
    "== != < <= > >=, 'in [...]', 'and', 'or', 'not', parentheses and number(column), e.g. "
    "\"NAME == 'Rhine' and in_basin_share >= 0.5\""
)
#: Longest filter text accepted (a guard against pathological input).
MAX_FILTER_LENGTH = 10_000
_MAX_DEPTH = 100


@dataclass(frozen=True)
class _Tok:
    kind: str  # "name", "str", "num", "bool", "op", "kw", "(", ")", "[", "]", ",", "end"
    value: Any
    pos: int


def _fail(text: str, pos: int, why: str, where: str = "filter") -> ConfigError:
    return ConfigError(f"{where} {text!r}: {why} at character {pos + 1}; {_HELP}")


def _tokenize(text: str, where: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in "'\"":
            j, buf = i + 1, []
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n and text[j + 1] in (c, "\\"):
                    buf.append(text[j + 1])
                    j += 2
                    continue
                buf.append(text[j])
                j += 1
            if j >= n:
                raise _fail(text, i, "unterminated quoted text", where)
            toks.append(_Tok("str", "".join(buf), i))
            i = j + 1
            continue
        signed = (
            c in "+-"
            and i + 1 < n
            and (text[i + 1].isdigit() or text[i + 1] == ".")
            and (not toks or toks[-1].kind in ("op", "kw", "(", "[", ","))
        )
        if signed or c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
            j = i + 1 if signed else i
            while j < n and (text[j].isalnum() or text[j] in "._"):
                if text[j] in "eE" and j + 1 < n and text[j + 1] in "+-":
                    j += 2
                    continue
                j += 1
            raw = text[i:j].replace("_", "")
            try:
                num: float | int = int(raw) if raw.lstrip("+-").isdigit() else float(raw)
            except ValueError:
                raise _fail(text, i, f"{text[i:j]!r} is not a number", where) from None
            if isinstance(num, float) and not math.isfinite(num):
                raise _fail(text, i, f"{text[i:j]!r} is not a finite number", where)
            toks.append(_Tok("num", num, i))
            i = j
            continue
        if c.isidentifier():
            j = i + 1
            while j < n and ("a" + text[j]).isidentifier():
                j += 1
            word = text[i:j]
            if not word.isidentifier():
                raise _fail(text, i, f"{word!r} is not a column name", where)
            if word in ("true", "True"):
                toks.append(_Tok("bool", True, i))
            elif word in ("false", "False"):
                toks.append(_Tok("bool", False, i))
            elif word in _KEYWORDS:
                toks.append(_Tok("kw", word, i))
            else:
                toks.append(_Tok("name", word, i))
            i = j
            continue
        two = text[i : i + 2]
        if two in _COMPARE:
            toks.append(_Tok("op", two, i))
            i += 2
            continue
        if c in "<>":
            toks.append(_Tok("op", c, i))
            i += 1
            continue
        if c in "()[],":
            toks.append(_Tok(c, c, i))
            i += 1
            continue
        why = {
            "@": "'@' (a Python variable) is not allowed",
            "`": "backticks are not allowed (column names must be plain identifiers)",
            ".": "'.' (attribute access) is not allowed",
            "=": "'=' is not a comparison (use '==')",
            "&": "'&' is not allowed (use 'and')",
            "|": "'|' is not allowed (use 'or')",
            "~": "'~' is not allowed (use 'not')",
        }.get(c, f"character {c!r} is not allowed")
        raise _fail(text, i, why, where)
    toks.append(_Tok("end", None, n))
    return toks


@dataclass(frozen=True)
class FilterExpr:
    """A parsed filter: the source text and its tree of tuples.

    Tree nodes are ``("and", a, b, ...)``, ``("or", a, b, ...)``, ``("not", a)``,
    ``("cmp", op, left, right)`` with operands ``("col", name)``, ``("fn", function,
    name)`` or ``("lit", value)``, and ``("in", operand, values, negated)``.
    """

    text: str
    tree: tuple[Any, ...]


class _Parser:
    def __init__(self, text: str, where: str) -> None:
        self.text = text
        self.where = where
        self.toks = _tokenize(text, where)
        self.i = 0
        self.depth = 0

    def fail(self, pos: int, why: str) -> ConfigError:
        return _fail(self.text, pos, why, self.where)

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, kind: str, what: str) -> _Tok:
        tok = self.take()
        if tok.kind != kind:
            raise self.fail(tok.pos, f"expected {what}, found {_show(tok)}")
        return tok

    def parse(self) -> tuple[Any, ...]:
        tree = self.or_()
        tok = self.peek()
        if tok.kind != "end":
            raise self.fail(tok.pos, f"unexpected {_show(tok)}")
        return tree

    def chain(self, op: str, operand: Callable[[], tuple[Any, ...]]) -> tuple[Any, ...]:
        """Parse ``operand (op operand)*``: one operand as is, several as ``(op, *parts)``."""
        parts = [operand()]
        while self.peek().kind == "kw" and self.peek().value == op:
            self.take()
            parts.append(operand())
        return parts[0] if len(parts) == 1 else (op, *parts)

    def or_(self) -> tuple[Any, ...]:
        return self.chain("or", self.and_)

    def and_(self) -> tuple[Any, ...]:
        return self.chain("and", self.not_)

    def not_(self) -> tuple[Any, ...]:
        tok = self.peek()
        if tok.kind == "kw" and tok.value == "not":
            self.take()
            return ("not", self._nested(self.not_))
        return self.atom()

    def _nested(self, fn: Any) -> tuple[Any, ...]:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.fail(self.peek().pos, f"nesting deeper than {_MAX_DEPTH}")
        try:
            result: tuple[Any, ...] = fn()
            return result
        finally:
            self.depth -= 1

    def atom(self) -> tuple[Any, ...]:
        tok = self.peek()
        if tok.kind == "(":
            self.take()
            inner = self._nested(self.or_)
            self.expect(")", "')'")
            return inner
        left = self.operand()
        tok = self.peek()
        if tok.kind == "kw" and tok.value in ("in", "not"):
            self.take()
            negated = tok.value == "not"
            if negated:
                nxt = self.take()
                if not (nxt.kind == "kw" and nxt.value == "in"):
                    raise self.fail(nxt.pos, f"expected 'in' after 'not', found {_show(nxt)}")
            if left[0] == "lit":
                raise self.fail(tok.pos, "'in' needs a column name on its left")
            return ("in", left, self.literal_list(), negated)
        if tok.kind != "op":
            if tok.kind == "(" and left[0] == "col":
                raise self.fail(tok.pos, "function calls are not allowed (except number(column))")
            raise self.fail(tok.pos, f"expected a comparison (== != < <= > >=), found {_show(tok)}")
        self.take()
        right = self.operand()
        if left[0] == "lit" and right[0] == "lit":
            raise self.fail(tok.pos, "a comparison needs at least one column name")
        if self.peek().kind == "op":
            raise self.fail(
                self.peek().pos, "chained comparisons are not allowed (join with 'and')"
            )
        return ("cmp", tok.value, left, right)

    def operand(self) -> tuple[Any, ...]:
        tok = self.take()
        if tok.kind == "name":
            if self.peek().kind == "(" and tok.value in FUNCTIONS:
                self.take()
                arg = self.take()
                if arg.kind != "name":
                    raise self.fail(arg.pos, f"{tok.value}() takes one column name")
                self.expect(")", f"')' closing {tok.value}(")
                return ("fn", tok.value, arg.value)
            if self.peek().kind in ("(", "["):
                if self.peek().kind == "[":
                    raise self.fail(self.peek().pos, "indexing is not allowed")
                allowed = ", ".join(f"{f}(column)" for f in FUNCTIONS)
                raise self.fail(
                    self.peek().pos, f"function calls are not allowed (except {allowed})"
                )
            return ("col", tok.value)
        if tok.kind == "op" or (tok.kind == "kw" and tok.value not in ("true", "false")):
            raise self.fail(tok.pos, f"expected a column name or a value, found {_show(tok)}")
        self.i -= 1
        return ("lit", self.literal())

    def literal(self) -> Any:
        tok = self.take()
        if tok.kind in ("str", "num", "bool"):
            return tok.value
        raise self.fail(tok.pos, f"expected a value, found {_show(tok)}")

    def literal_list(self) -> tuple[Any, ...]:
        self.expect("[", "'[' starting a list of values")
        values: list[Any] = []
        if self.peek().kind == "]":
            raise self.fail(self.peek().pos, "an 'in' list needs at least one value")
        while True:
            values.append(self.literal())
            tok = self.take()
            if tok.kind == "]":
                return tuple(values)
            if tok.kind != ",":
                raise self.fail(tok.pos, f"expected ',' or ']', found {_show(tok)}")


def _show(tok: _Tok) -> str:
    if tok.kind == "end":
        return "the end of the text"
    return repr(tok.value) if tok.kind in ("str", "num", "bool") else f"{tok.value!r}"


def parse_filter(text: str, *, where: str = "filter") -> FilterExpr:
    """Parse a filter; raise :class:`~basingov.errors.ConfigError` on anything but comparisons.

    Parameters
    ----------
    text
        The filter text from a config, e.g. ``"in_basin_share >= 0.5"``.
    where
        How to name the filter in errors, e.g. ``"[networks.ne].filter"``.

    Returns
    -------
    FilterExpr

    Raises
    ------
    ConfigError
        If the text is empty, too long, or uses anything but column names, literals,
        comparisons, ``in [...]``, ``and``/``or``/``not`` and parentheses.

    Examples
    --------
    >>> parse_filter("in_basin_share >= 0.5").tree
    ('cmp', '>=', ('col', 'in_basin_share'), ('lit', 0.5))
    >>> parse_filter("__import__('os') == 0")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    basingov.errors.ConfigError: filter "__import__('os') == 0": function calls are not allowed ... at character 11; ...
    """  # noqa: E501
    if not isinstance(text, str):
        msg = f"{where} must be text, got {type(text).__name__} {text!r}; {_HELP}"
        raise ConfigError(msg)
    if not text.strip():
        msg = f"{where} is empty; leave the key out to keep every feature; {_HELP}"
        raise ConfigError(msg)
    if len(text) > MAX_FILTER_LENGTH:
        msg = f"{where} is {len(text)} characters long; at most {MAX_FILTER_LENGTH} are accepted"
        raise ConfigError(msg)
    return FilterExpr(text=text, tree=_Parser(text, where).parse())


def filter_columns(expr: FilterExpr) -> list[str]:
    """Column names a parsed filter refers to, in order of first use.

    Examples
    --------
    >>> filter_columns(parse_filter("a == 1 and (b in ['x'] or a < c)"))
    ['a', 'b', 'c']
    """
    out: dict[str, None] = {}

    def walk(node: tuple[Any, ...]) -> None:
        kind = node[0]
        if kind in ("and", "or"):
            for child in node[1:]:
                walk(child)
        elif kind == "not":
            walk(node[1])
        elif kind == "in":
            out.setdefault(node[1][-1], None)
        elif kind == "cmp":
            for side in node[2:]:
                if side[0] in ("col", "fn"):
                    out.setdefault(side[-1], None)

    walk(expr.tree)
    return list(out)


def apply_filter(df: pd.DataFrame, expr: str | FilterExpr, *, where: str = "filter") -> np.ndarray:
    """Evaluate a filter on a table and return a boolean mask (one value per row).

    Parameters
    ----------
    df
        The table (e.g. a river layer).
    expr
        Filter text or a parsed :class:`FilterExpr`.
    where
        How to name the filter in errors, e.g. ``"[networks.ne].filter"``.

    Returns
    -------
    numpy.ndarray of bool

    Raises
    ------
    ConfigError
        If the filter does not parse, names a column the table lacks (the message lists
        the columns), or compares values of incompatible types.

    Examples
    --------
    >>> df = pd.DataFrame({"NAME": ["Rhine", "Aare", None], "share": [0.9, 0.2, 1.0]})
    >>> apply_filter(df, "NAME in ['Rhine', 'Aare'] and not share < 0.5").tolist()
    [True, False, False]
    """
    parsed = expr if isinstance(expr, FilterExpr) else parse_filter(expr, where=where)
    cols = [str(c) for c in df.columns]
    missing = [c for c in filter_columns(parsed) if c not in df.columns]
    if missing:
        shown = [c for c in cols if c != "geometry"]
        msg = f"{where} {parsed.text!r} names column(s) {missing} that the layer lacks; its columns are {shown}"  # noqa: E501
        raise ConfigError(msg)
    mask = _eval(df, parsed.tree, parsed.text, where)
    return np.asarray(mask, dtype=bool)


def _operand(df: pd.DataFrame, node: tuple[Any, ...]) -> Any:
    if node[0] == "col":
        return df[node[1]]
    if node[0] == "fn":  # only FUNCTIONS reach here; each is a fixed vectorised operation
        text = df[node[2]].astype("string")
        first = text.str.extract(r"([-+]?[0-9]+(?:\.[0-9]+)?)", expand=False)
        return pd.to_numeric(first, errors="coerce")
    return node[1]


def _eval(df: pd.DataFrame, node: tuple[Any, ...], text: str, where: str) -> np.ndarray:
    kind = node[0]
    if kind in ("and", "or"):
        out = _eval(df, node[1], text, where)
        for child in node[2:]:
            part = _eval(df, child, text, where)
            out = out & part if kind == "and" else out | part
        return out
    if kind == "not":
        return ~_eval(df, node[1], text, where)
    if kind == "in":
        col = _operand(df, node[1])
        hit = col.isin(list(node[2])).to_numpy(dtype=bool)
        return ~hit if node[3] else hit
    op, left, right = node[1], _operand(df, node[2]), _operand(df, node[3])
    try:
        res = _compare(op, left, right)
    except TypeError as exc:
        names = [s[-1] for s in node[2:] if s[0] in ("col", "fn")]
        dtypes = {c: str(df[c].dtype) for c in names}
        msg = (
            f"{where} {text!r}: cannot compare {_describe(node[2], df)} {op} "
            f"{_describe(node[3], df)} ({exc}); column types are {dtypes}"
        )
        raise ConfigError(msg) from None
    if not isinstance(res, pd.Series):  # pragma: no cover - a column is always on one side
        return np.full(len(df), bool(res))
    return res.fillna(False).to_numpy(dtype=bool)


def _describe(node: tuple[Any, ...], df: pd.DataFrame) -> str:
    if node[0] == "col":
        return f"column {node[1]!r} ({df[node[1]].dtype})"
    if node[0] == "fn":
        return f"{node[1]}({node[2]})"
    return f"{type(node[1]).__name__} {node[1]!r}"


def _compare(op: str, left: Any, right: Any) -> Any:
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    return left >= right
