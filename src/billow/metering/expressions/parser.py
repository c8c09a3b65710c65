"""Recursive-descent parser for Lago's billable-metric expression language.

expression := sum END
sum        := product (("+" | "-") product)*
product    := unary (("*" | "/") unary)*
unary      := "-"? primary
primary    := NUMBER | STRING | variable | function "(" sum ("," sum)* ")" | "(" sum ")"
variable   := "event.code" | "event.timestamp" | "event.properties." NAME
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from .errors import ExpressionSyntaxError
from .functions import Function, arity_error
from .lexer import Token, TokenKind, tokenize
from .nodes import (
    PROPERTY_NAME,
    Arithmetic,
    EventCode,
    EventTimestamp,
    Expression,
    FunctionCall,
    Negate,
    NumberLiteral,
    Operator,
    Property,
    StringLiteral,
)

MAX_EXPRESSION_LENGTH = 1000
MAX_NESTING = 32
"""Deepest nesting of parentheses and function calls (bounds recursion everywhere)."""

_OPERATORS = {
    TokenKind.PLUS: Operator.ADD,
    TokenKind.MINUS: Operator.SUBTRACT,
    TokenKind.STAR: Operator.MULTIPLY,
    TokenKind.SLASH: Operator.DIVIDE,
}
_PROPERTY_PREFIX = "event.properties."

_Rule = Callable[[], Expression]


def parse_expression(text: str) -> Expression:
    """Parse ``text`` into an immutable tree; raises ``ExpressionSyntaxError``."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionSyntaxError(
            f"Expression is too long ({len(text)} characters, at most {MAX_EXPRESSION_LENGTH})"
        )
    if not text.strip(" "):
        raise ExpressionSyntaxError("Expression is empty")
    return _Parser(tokenize(text)).parse()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._index = 0
        self._depth = 0

    def parse(self) -> Expression:
        expression = self._sum()
        self._expect(TokenKind.END)
        return expression

    def _peek(self) -> Token:
        return self._tokens[self._index]

    def _advance(self) -> Token:
        token = self._tokens[self._index]
        if token.kind is not TokenKind.END:
            self._index += 1
        return token

    def _expect(self, kind: TokenKind) -> Token:
        token = self._peek()
        if token.kind is not kind:
            raise ExpressionSyntaxError(
                f"Expected {kind.value} at column {token.column}, found {token.describe()}"
            )
        return self._advance()

    def _sum(self) -> Expression:
        return self._chain(self._product, (TokenKind.PLUS, TokenKind.MINUS))

    def _product(self) -> Expression:
        return self._chain(self._unary, (TokenKind.STAR, TokenKind.SLASH))

    def _chain(self, operand: _Rule, kinds: tuple[TokenKind, ...]) -> Expression:
        first = operand()
        rest: list[tuple[Operator, Expression]] = []
        while self._peek().kind in kinds:
            operator = _OPERATORS[self._advance().kind]
            rest.append((operator, operand()))
        return Arithmetic(first, tuple(rest)) if rest else first

    def _unary(self) -> Expression:
        if self._peek().kind is TokenKind.MINUS:
            self._advance()
            return Negate(self._primary())
        return self._primary()

    def _primary(self) -> Expression:
        token = self._advance()
        if token.kind is TokenKind.NUMBER:
            return NumberLiteral(Decimal(token.text))
        if token.kind is TokenKind.STRING:
            return StringLiteral(token.text[1:-1])
        if token.kind is TokenKind.LPAREN:
            self._enter(token)
            inner = self._sum()
            self._expect(TokenKind.RPAREN)
            self._depth -= 1
            return inner
        if token.kind is TokenKind.NAME:
            function = Function.lookup(token.text)
            if function is not None:
                return self._call(function, token)
            return _variable(token)
        raise ExpressionSyntaxError(
            f"Expected an expression at column {token.column}, found {token.describe()}"
        )

    def _call(self, function: Function, name: Token) -> Expression:
        self._enter(self._expect(TokenKind.LPAREN))
        args = [self._sum()]
        while self._peek().kind is TokenKind.COMMA:
            self._advance()
            args.append(self._sum())
        self._expect(TokenKind.RPAREN)
        self._depth -= 1
        error = arity_error(function, len(args))
        if error is not None:
            raise ExpressionSyntaxError(f"{error} (column {name.column})")
        return FunctionCall(function, tuple(args))

    def _enter(self, token: Token) -> None:
        self._depth += 1
        if self._depth > MAX_NESTING:
            raise ExpressionSyntaxError(
                f"Expression is nested too deeply at column {token.column} (at most {MAX_NESTING} levels)"
            )


def _variable(token: Token) -> Expression:
    if token.text == "event.code":
        return EventCode()
    if token.text == "event.timestamp":
        return EventTimestamp()
    name = token.text.removeprefix(_PROPERTY_PREFIX)
    if token.text.startswith(_PROPERTY_PREFIX) and PROPERTY_NAME.fullmatch(name):
        return Property(name)
    raise ExpressionSyntaxError(
        f"Unknown name {token.text!r} at column {token.column}: expected event.code, event.timestamp, "
        "event.properties.<name> or a function call"
    )
