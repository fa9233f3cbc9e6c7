"""Recursive-descent parser: expression text → parse tree (never Python eval).

Precedence, loosest first: or, and, not, comparison (== != < <= > >= in, not in, between),
+ -, * /, unary -, postfix (.name, [index]).
"""

from __future__ import annotations

from dealerpolicy.lang import ast
from dealerpolicy.lang.lexer import Token, tokenize
from dealerpolicy.lang.problems import ExprProblem

COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}


def parse(text: str) -> ast.Node:
    """Parse one expression; raises ExprProblem with the offset of the first syntax error."""
    if not text.strip():
        raise ExprProblem("expr.syntax", "empty expression", 0, max(len(text), 1))
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

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

    def or_expr(self) -> ast.Node:
        return self._logical("or", self.and_expr)

    def and_expr(self) -> ast.Node:
        return self._logical("and", self.not_expr)

    def _logical(self, op: str, sub) -> ast.Node:
        first = sub()
        items = [first]
        while self.at_kw(op):
            self.advance()
            items.append(sub())
        if len(items) == 1:
            return first
        return ast.Logical(first.start, items[-1].end, op, tuple(items))

    def not_expr(self) -> ast.Node:
        if self.at_kw("not"):
            t = self.advance()
            operand = self.not_expr()
            return ast.Unary(t.start, operand.end, "not", operand)
        return self.comparison()

    def comparison(self) -> ast.Node:
        left = self.additive()
        t = self.tok
        if t.kind == "op" and t.value in COMPARISONS:
            self.advance()
            right = self.additive()
            node: ast.Node = ast.Binary(left.start, right.end, str(t.value), left, right, t.start)
            if self.tok.kind == "op" and self.tok.value in COMPARISONS:
                raise self.error("comparisons cannot be chained",
                                 hint="write 'a < b and b < c', or 'x between a and b'")
            return node
        if self.at_kw("in"):
            self.advance()
            options = self.additive()
            return ast.InList(left.start, options.end, left, options, False)
        if self.at_kw("not") and self.tokens[self.i + 1].kind == "keyword" and self.tokens[self.i + 1].value == "in":
            self.advance()
            self.advance()
            options = self.additive()
            return ast.InList(left.start, options.end, left, options, True)
        if self.at_kw("between"):
            self.advance()
            low = self.additive()
            if not self.at_kw("and"):
                raise self.error("expected 'and' in 'between … and …'")
            self.advance()
            high = self.additive()
            return ast.Between(left.start, high.end, left, low, high)
        if t.kind == "op" and t.value == "=":
            raise ExprProblem("expr.syntax", "'=' is not a comparison", t.start, t.end, "use '==' to compare")
        return left

    def additive(self) -> ast.Node:
        node = self.multiplicative()
        while self.tok.kind == "op" and self.tok.value in ("+", "-"):
            t = self.advance()
            right = self.multiplicative()
            node = ast.Binary(node.start, right.end, str(t.value), node, right, t.start)
        return node

    def multiplicative(self) -> ast.Node:
        node = self.unary()
        while self.tok.kind == "op" and self.tok.value in ("*", "/"):
            t = self.advance()
            right = self.unary()
            node = ast.Binary(node.start, right.end, str(t.value), node, right, t.start)
        return node

    def unary(self) -> ast.Node:
        if self.at_op("-"):
            t = self.advance()
            operand = self.unary()
            return ast.Unary(t.start, operand.end, "-", operand)
        return self.postfix()

    def postfix(self) -> ast.Node:
        node = self.primary()
        while self.at_op("["):
            self.advance()
            index = self.or_expr()
            close = self.expect_op("]", "to close the index")
            node = ast.Index(node.start, close.end, node, index)
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
            self.advance()
            inner = self.or_expr()
            self.expect_op(")", "to close '('")
            return inner
        if self.at_op("["):
            return self.list_literal()
        if t.kind == "name":
            return self.name_or_call()
        raise self.error("expected a value, a name or '('")

    def list_literal(self) -> ast.Node:
        open_tok = self.advance()
        items: list[ast.Node] = []
        if not self.at_op("]"):
            items.append(self.additive())
            while self.at_op(","):
                self.advance()
                items.append(self.additive())
        close = self.expect_op("]", "to close the list")
        return ast.ListLit(open_tok.start, close.end, tuple(items))

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
        self.advance()  # (
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
        close = self.expect_op(")", f"to close {name_tok.value}(…)")
        return ast.Call(name_tok.start, close.end, str(name_tok.value), name_tok.end, tuple(args), where)
