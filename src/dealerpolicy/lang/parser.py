"""Recursive-descent parser: expression text → parse tree (never Python eval).

Precedence, loosest first: or, and, not, comparison (== != < <= > >= in, not in, between),
+ -, * /, unary -, postfix (.name, [index]).

Nesting is bounded (`MAX_DEPTH`): every pass over a tree (the checker, the code generator, the
explanations, the durable_rules conditions, the closures at run time) recurses once or a few
times per level, so a deeper tree is refused here, with its place, as `expr.too_deep` — not
left to exhaust Python's stack later. Levels are counted two ways, each bounded by MAX_DEPTH:
the parser's own open groups (parentheses, calls, lists, `[index]`, `not`, unary `-`), and the
height of the tree it builds, where each operator of a chain `a + b + c + …` is one level (the
chain is a left-nested tree).
"""

from __future__ import annotations

from dealerpolicy.lang import ast
from dealerpolicy.lang.lexer import Token, tokenize
from dealerpolicy.lang.problems import ExprProblem

COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}

# The deepest nesting an expression may have (the shipped rulebook's deepest is 10). Parsing costs
# at most 9 Python frames per open group (a call: primary → call → or → and → not → comparison →
# + → * → unary), the later passes at most 4 per level of the tree: 64 levels stay under 600
# frames, with the caller's own on top, below Python's default limit of 1,000.
MAX_DEPTH = 64
# The most conditions one expression may join with and / or: a rule's explanation, its durable_rules
# condition and its generated code grow with them (20,000 took 30 s to load). Many values of one
# field are one condition: `x in [...]`.
MAX_CONDITIONS = 1000
TOO_DEEP_HINT = ("compute parts of it as derived values (derive:) and use their names here; each operator of "
                 "a chain like a + b + c counts as one level")


def parse(text: str) -> ast.Node:
    """Parse one expression; raises ExprProblem with the offset of the first syntax error."""
    if not text.strip():
        raise ExprProblem("expr.syntax", "empty expression", 0, max(len(text), 1))
    parser = _Parser(text)
    try:
        return parser.parse()
    except RecursionError:  # only when the caller's stack is already deep: still a diagnostic
        t = parser.tok
        raise too_deep(t.start, max(t.end, t.start + 1)) from None


def too_deep(start: int, end: int) -> ExprProblem:
    return ExprProblem("expr.too_deep", f"expression nested too deeply: more than {MAX_DEPTH} levels",
                       start, end, TOO_DEEP_HINT)


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0  # groups open around the current token (the parser's own recursion)
        self.joins = 0  # and / or operators read so far
        self.heights: dict[int, int] = {}  # id(node) → height of its tree, for nodes above the leaves

    # -- nesting bounds --------------------------------------------------------
    def enter(self, t: Token) -> None:
        """Open a nested group at token `t` (closed by `leave`)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise too_deep(t.start, max(t.end, t.start + 1))

    def leave(self) -> None:
        self.depth -= 1

    def join(self) -> None:
        """Read an and / or operator; refuse it when the expression joins too many conditions."""
        t = self.advance()
        self.joins += 1
        if self.joins >= MAX_CONDITIONS:
            raise ExprProblem("expr.too_long", f"too many conditions: more than {MAX_CONDITIONS} joined by "
                              "'and' / 'or' in one expression", t.start, t.end,
                              "split the rule into several rules; test many values of one field with "
                              "x in [...] or x not in [...], or a list param")

    def built(self, node: ast.Node, children, at: Token) -> ast.Node:
        """Record the height of a new inner node; refuse it at its operator `at` when too deep."""
        height = 1 + max((self.heights.get(id(c), 1) for c in children), default=1)
        if height > MAX_DEPTH:
            raise too_deep(at.start, max(at.end, at.start + 1))
        self.heights[id(node)] = height
        return node

    # -- token helpers -------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def at(self, kind: str, value: object = None) -> bool:
        t = self.tok
        return t.kind == kind and (value is None or t.value == value)

    def at_op(self, value: str) -> bool:
        return self.at("op", value)

    def at_kw(self, value: str) -> bool:
        return self.at("keyword", value)

    def expect_op(self, value: str, context: str) -> Token:
        if not self.at_op(value):
            raise self.error(f"expected '{value}' {context}")
        return self.advance()

    def error(self, message: str, hint: str | None = None) -> ExprProblem:
        t = self.tok
        found = "end of expression" if t.kind == "end" else repr(t.text)
        if t.kind == "op" and t.value == "=":
            hint = hint or "use '==' to compare"
        return ExprProblem("expr.syntax", f"{message}, found {found}", t.start, max(t.end, t.start + 1), hint)

    # -- grammar ---------------------------------------------------------------
    def parse(self) -> ast.Node:
        node = self.or_expr()
        if not self.at("end"):
            raise self.error("unexpected text after the expression",
                             hint="join conditions with 'and' / 'or'")
        return node

    # or_expr and and_expr are written out (not one shared helper), and postfix is part of unary:
    # fewer Python frames per nested parenthesis, see MAX_DEPTH
    def or_expr(self) -> ast.Node:
        first = self.and_expr()
        if not self.at_kw("or"):
            return first
        op_tok, items = self.tok, [first]
        while self.at_kw("or"):
            self.join()
            items.append(self.and_expr())
        return self.built(ast.Logical(first.start, items[-1].end, "or", tuple(items)), items, op_tok)

    def and_expr(self) -> ast.Node:
        first = self.not_expr()
        if not self.at_kw("and"):
            return first
        op_tok, items = self.tok, [first]
        while self.at_kw("and"):
            self.join()
            items.append(self.not_expr())
        return self.built(ast.Logical(first.start, items[-1].end, "and", tuple(items)), items, op_tok)

    def not_expr(self) -> ast.Node:
        if self.at_kw("not"):
            t = self.advance()
            self.enter(t)
            operand = self.not_expr()
            self.leave()
            return self.built(ast.Unary(t.start, operand.end, "not", operand), (operand,), t)
        return self.comparison()

    def comparison(self) -> ast.Node:
        left = self.additive()
        t = self.tok
        if t.kind == "op" and t.value in COMPARISONS:
            self.advance()
            right = self.additive()
            node: ast.Node = self.built(ast.Binary(left.start, right.end, str(t.value), left, right, t.start),
                                        (left, right), t)
            if self.tok.kind == "op" and self.tok.value in COMPARISONS:
                raise self.error("comparisons cannot be chained",
                                 hint="write 'a < b and b < c', or 'x between a and b'")
            return node
        if self.at_kw("in"):
            self.advance()
            options = self.additive()
            return self.built(ast.InList(left.start, options.end, left, options, False), (left, options), t)
        if self.at_kw("not") and self.tokens[self.i + 1].kind == "keyword" and self.tokens[self.i + 1].value == "in":
            self.advance()
            self.advance()
            options = self.additive()
            return self.built(ast.InList(left.start, options.end, left, options, True), (left, options), t)
        if self.at_kw("between"):
            self.advance()
            low = self.additive()
            if not self.at_kw("and"):
                raise self.error("expected 'and' in 'between … and …'")
            self.advance()
            high = self.additive()
            return self.built(ast.Between(left.start, high.end, left, low, high), (left, low, high), t)
        if t.kind == "op" and t.value == "=":
            raise ExprProblem("expr.syntax", "'=' is not a comparison", t.start, t.end, "use '==' to compare")
        return left

    def additive(self) -> ast.Node:
        node = self.multiplicative()
        while self.tok.kind == "op" and self.tok.value in ("+", "-"):
            t = self.advance()
            right = self.multiplicative()
            node = self.built(ast.Binary(node.start, right.end, str(t.value), node, right, t.start), (node, right), t)
        return node

    def multiplicative(self) -> ast.Node:
        node = self.unary()
        while self.tok.kind == "op" and self.tok.value in ("*", "/"):
            t = self.advance()
            right = self.unary()
            node = self.built(ast.Binary(node.start, right.end, str(t.value), node, right, t.start), (node, right), t)
        return node

    def unary(self) -> ast.Node:
        if self.at_op("-"):
            t = self.advance()
            self.enter(t)
            operand = self.unary()
            self.leave()
            return self.built(ast.Unary(t.start, operand.end, "-", operand), (operand,), t)
        node = self.primary()  # then postfix: [index]
        while self.at_op("["):
            t = self.advance()
            self.enter(t)
            index = self.or_expr()
            self.leave()
            close = self.expect_op("]", "to close the index")
            node = self.built(ast.Index(node.start, close.end, node, index), (node, index), t)
        return node

    def primary(self) -> ast.Node:
        t = self.tok
        if t.kind in ("number", "percent", "money", "date", "string"):
            self.advance()
            return ast.Literal(t.start, t.end, t.value, t.kind)
        if t.kind == "keyword" and t.value in ("true", "false"):
            self.advance()
            return ast.Literal(t.start, t.end, t.value == "true", "boolean")
        if t.kind == "keyword" and t.value == "inf":
            self.advance()
            return ast.Literal(t.start, t.end, None, "infinity")
        if self.at_op("("):
            self.enter(self.advance())
            inner = self.or_expr()
            self.leave()
            self.expect_op(")", "to close '('")
            return inner
        if self.at_op("["):
            return self.list_literal()
        if t.kind == "name":
            nxt = self.tokens[self.i + 1]
            if nxt.kind == "op" and nxt.value == "(":
                return self.call(self.advance())  # (not through name_or_call: one frame less per call)
            return self.name_or_call()
        raise self.error("expected a value, a name or '('")

    def list_literal(self) -> ast.Node:
        open_tok = self.advance()
        self.enter(open_tok)
        items: list[ast.Node] = []
        if not self.at_op("]"):
            items.append(self.additive())
            while self.at_op(","):
                self.advance()
                items.append(self.additive())
        self.leave()
        close = self.expect_op("]", "to close the list")
        return self.built(ast.ListLit(open_tok.start, close.end, tuple(items)), items, open_tok)

    def name_or_call(self) -> ast.Node:
        first = self.advance()
        if self.at_op("("):
            return self.call(first)
        parts, starts = [str(first.value)], [first.start]
        end = first.end
        while self.at_op("."):
            self.advance()
            if not self.at("name"):
                raise self.error("expected a field name after '.'")
            t = self.advance()
            parts.append(str(t.value))
            starts.append(t.start)
            end = t.end
        return ast.Name(first.start, end, tuple(parts), tuple(starts))

    def call(self, name_tok: Token) -> ast.Node:
        self.enter(self.advance())  # (
        args: list[ast.Node] = []
        where = None
        if not self.at_op(")"):
            args.append(self.or_expr())
            while self.at_op(","):
                self.advance()
                args.append(self.or_expr())
            if self.at_kw("where"):
                self.advance()
                where = self.or_expr()
        self.leave()
        close = self.expect_op(")", f"to close {name_tok.value}(…)")
        node = ast.Call(name_tok.start, close.end, str(name_tok.value), name_tok.end, tuple(args), where)
        return self.built(node, (*args, where) if where is not None else args, name_tok)
